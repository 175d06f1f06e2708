"""Stream posts out of JSONL, CSV or Parquet (or JSONL on stdin), one row at a time.

Every physical input row becomes either an ``InputRow`` or a ``RowError`` naming file,
line and reason; nothing is dropped except blank JSONL lines, which are not rows.
Memory stays bounded: files are read line by line, Parquet batch by batch.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from .records import InputRow, RowError

FORMATS = ("jsonl", "csv", "parquet")
STDIN = "-"


class InputError(ValueError):
    """The input as a whole cannot be read (missing file, unknown format, no text column)."""


def detect_format(path: str, given: str | None = None) -> str:
    if given:
        if given not in FORMATS:
            raise InputError(f"unknown format {given!r}: use one of {', '.join(FORMATS)}")
        return given
    if path == STDIN:
        return "jsonl"
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt = {"jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "csv": "csv", "parquet": "parquet", "pq": "parquet"}.get(suffix)
    if fmt is None:
        raise InputError(f"{path}: cannot tell the format from the extension {suffix!r}; pass --format "
                         f"({', '.join(FORMATS)})")
    return fmt


@dataclass
class Position:
    """How far a reader has got, for the progress bar (bytes for text files, rows for Parquet)."""

    done: int = 0
    total: int | None = None


def _row(file: str, line: int, obj: dict, text_field: str, id_field: str) -> InputRow | RowError:
    raw_id = obj.get(id_field)
    rid = None if raw_id is None else str(raw_id)
    if text_field not in obj:
        return RowError(file, line, f"field '{text_field}': missing", rid)
    text = obj[text_field]
    if not isinstance(text, str):
        return RowError(file, line, f"field '{text_field}': expected a string, got {type(text).__name__}", rid)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return RowError(file, line, f"field '{text_field}': undecodable bytes (not valid UTF-8)", rid)
    # A row without an id is still scored; its line number identifies it.
    return InputRow(line, rid if rid is not None else f"line-{line}", text)


def _open_binary(path: str) -> BinaryIO:
    if path == STDIN:
        return sys.stdin.buffer
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    return open(p, "rb")


def parse_jsonl_line(name: str, lineno: int, raw: bytes, text_field: str, id_field: str) -> InputRow | RowError | None:
    """One raw JSONL line as a row, an error, or None for a blank line (not a row)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RowError(name, lineno, f"undecodable bytes: not valid UTF-8 ({exc.reason} at byte {exc.start})")
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return RowError(name, lineno, f"bad JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        return RowError(name, lineno, f"expected a JSON object, got {type(obj).__name__}")
    return _row(name, lineno, obj, text_field, id_field)


def read_jsonl(path: str, text_field: str, id_field: str, pos: Position) -> Iterator[InputRow | RowError]:
    name = "<stdin>" if path == STDIN else path
    f = _open_binary(path)
    pos.total = None if path == STDIN else Path(path).stat().st_size
    try:
        for lineno, raw in enumerate(f, 1):
            pos.done += len(raw)
            row = parse_jsonl_line(name, lineno, raw, text_field, id_field)
            if row is not None:
                yield row
    finally:
        if f is not sys.stdin.buffer:
            f.close()


class _CountingReader(io.RawIOBase):
    def __init__(self, raw: BinaryIO, pos: Position):
        self.raw, self.pos = raw, pos

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b)
        self.pos.done += n or 0
        return n


def read_csv(path: str, text_field: str, id_field: str, pos: Position) -> Iterator[InputRow | RowError]:
    f = _open_binary(path)
    pos.total = None if path == STDIN else Path(path).stat().st_size
    # surrogateescape keeps reading past bad bytes; the row holding them becomes an error.
    text = io.TextIOWrapper(io.BufferedReader(_CountingReader(f, pos)), encoding="utf-8", errors="surrogateescape",
                            newline="")
    try:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}:1: unreadable CSV header ({exc})") from exc
        header = [h.lstrip("\ufeff").strip() for h in header]
        if text_field not in header:
            raise InputError(f"{path}:1: no column '{text_field}' (columns: {', '.join(header)}); "
                             f"pass --text-field")
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield RowError(path, start, f"bad CSV: {exc}")
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not cells:
                continue
            if len(cells) != len(header):
                yield RowError(path, line, f"expected {len(header)} columns, got {len(cells)}")
                continue
            yield _row(path, line, dict(zip(header, cells)), text_field, id_field)
    finally:
        text.detach()
        f.close()


def read_parquet(path: str, text_field: str, id_field: str, pos: Position,
                 batch_rows: int = 4096) -> Iterator[InputRow | RowError]:
    import pyarrow.parquet as pq

    if path == STDIN:
        raise InputError("Parquet cannot be read from stdin; give a file")
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    names = pf.schema_arrow.names
    if text_field not in names:
        raise InputError(f"{path}: no column '{text_field}' (columns: {', '.join(names)}); pass --text-field")
    columns = [text_field] + ([id_field] if id_field in names else [])
    pos.total = pf.metadata.num_rows
    row = 0
    for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
        for obj in batch.to_pylist():
            row += 1
            pos.done = row
            if obj.get(text_field) is None:
                yield RowError(path, row, f"field '{text_field}': missing (null)",
                               None if obj.get(id_field) is None else str(obj[id_field]))
                continue
            yield _row(path, row, obj, text_field, id_field)


def read_rows(path: str, fmt: str, text_field: str = "text", id_field: str = "id",
              pos: Position | None = None) -> Iterator[InputRow | RowError]:
    reader = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}[fmt]
    return reader(path, text_field, id_field, pos if pos is not None else Position())
