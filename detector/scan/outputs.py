"""Write scan records chunk by chunk so that an interrupted scan leaves valid output.

JSONL and CSV are appended to the output file and synced after each chunk; the
checkpoint then records the file's length, so a resumed scan first cuts off whatever a
crash left half-written. Parquet cannot be appended to, so each chunk becomes a part
file in ``OUTPUT.parts/`` and the parts are joined into ``OUTPUT`` when the scan ends.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

from detector.taxonomy import CATEGORIES

from .records import RowError, ScanRecord

CSV_COLUMNS = ["id", "recruitment", "categories", "youth_targeting", "flagged", "action", "rule", "signals", "lang",
               "stage", "model_version", "policy_version"]


def _sync(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def _truncate(path: Path, size: int) -> None:
    if path.exists():
        with open(path, "r+b") as f:
            f.truncate(size)


def record_dict(r: ScanRecord) -> dict:
    d = r.model_dump(exclude={"text"} if r.text is None else None)
    d["recruitment"] = round(d["recruitment"], 6)
    d["youth_targeting"] = round(d["youth_targeting"], 6)
    d["categories"] = {k: round(v, 6) for k, v in d["categories"].items()}
    return d


class _AppendWriter:
    """Shared by JSONL and CSV: append, sync, report the length the checkpoint records."""

    def __init__(self, path: Path, resume_at: int | None):
        self.path = path
        if resume_at is None:
            self.path.write_bytes(b"")
        else:
            _truncate(self.path, resume_at)
        self.f = open(self.path, "ab")

    def position(self) -> int:
        return self.f.tell()

    def close(self) -> None:
        self.f.close()

    def finish(self) -> None:
        self.close()


class JsonlWriter(_AppendWriter):
    def __init__(self, path: Path, resume_at: int | None, with_text: bool = False):
        super().__init__(path, resume_at)

    def write(self, records: list[ScanRecord]) -> None:
        self.f.write("".join(json.dumps(record_dict(r), ensure_ascii=False) + "\n" for r in records).encode("utf-8"))
        _sync(self.f)


class CsvWriter(_AppendWriter):
    def __init__(self, path: Path, resume_at: int | None, with_text: bool = False):
        super().__init__(path, resume_at)
        self.columns = CSV_COLUMNS + (["text"] if with_text else [])
        if self.f.tell() == 0:
            self._rows([self.columns])

    def _rows(self, rows: list[list]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        self.f.write(buf.getvalue().encode("utf-8"))
        _sync(self.f)

    def write(self, records: list[ScanRecord]) -> None:
        rows = []
        for r in records:
            d = record_dict(r)
            # Nested fields as JSON text: one column each, whatever the taxonomy holds.
            d["categories"] = json.dumps(d["categories"], ensure_ascii=False)
            d["signals"] = json.dumps(d["signals"], ensure_ascii=False)
            d["rule"] = d["rule"] or ""
            rows.append([d.get(c, "") for c in self.columns])
        self._rows(rows)


def parquet_schema(with_text: bool = False):
    import pyarrow as pa

    text = [("text", pa.string())] if with_text else []
    return pa.schema([
        ("id", pa.string()), ("recruitment", pa.float64()),
        ("categories", pa.struct([(c, pa.float64()) for c in CATEGORIES])),
        ("youth_targeting", pa.float64()), ("flagged", pa.bool_()), ("action", pa.string()), ("rule", pa.string()),
        ("signals", pa.list_(pa.string())), ("lang", pa.string()), ("stage", pa.string()),
        ("model_version", pa.string()), ("policy_version", pa.string()), *text,
    ])


class ParquetWriter:
    def __init__(self, path: Path, resume_at: int | None, with_text: bool = False):
        self.path = path
        self.schema = parquet_schema(with_text)
        self.parts = Path(str(path) + ".parts")
        if resume_at is None:
            shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir(parents=True, exist_ok=True)
        self.count = resume_at or 0
        for stale in self.parts.glob("part-*.parquet"):  # written after the last checkpoint
            if int(stale.stem.split("-")[1]) >= self.count:
                stale.unlink()

    def position(self) -> int:
        return self.count

    def write(self, records: list[ScanRecord]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not records:
            return
        table = pa.Table.from_pylist([record_dict(r) for r in records], schema=self.schema)
        tmp = self.parts / f".part-{self.count:06d}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.parts / f"part-{self.count:06d}.parquet")
        self.count += 1

    def close(self) -> None:
        pass

    def finish(self) -> None:
        import pyarrow.parquet as pq

        tmp = Path(str(self.path) + ".tmp")
        with pq.ParquetWriter(tmp, self.schema) as out:
            for i in range(self.count):
                out.write_table(pq.read_table(self.parts / f"part-{i:06d}.parquet", schema=self.schema))
        os.replace(tmp, self.path)
        shutil.rmtree(self.parts, ignore_errors=True)


class ErrorWriter(_AppendWriter):
    def write(self, errors: list[RowError]) -> None:
        self.f.write("".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in errors).encode("utf-8"))
        _sync(self.f)


def open_writer(path: Path, fmt: str, resume_at: int | None, with_text: bool = False):
    return {"jsonl": JsonlWriter, "csv": CsvWriter, "parquet": ParquetWriter}[fmt](path, resume_at, with_text)
