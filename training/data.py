"""Load, validate and save labelled posts with Hugging Face ``datasets``.

Sources: the seed corpus shipped in ``training/data/corpus/`` (one JSON Lines file per
language, split assignments in ``training/data/splits.json``), and any user file in JSON
Lines, CSV or Parquet with a column mapping. Every bad row becomes a ``RecordError`` that
names file, line (or row) and field; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from pydantic import ValidationError

from detector.jsonl import RecordError, iter_json_objects, iter_jsonl, validation_errors
from detector.records import LabelledPost
from detector.taxonomy import RECORD_FIELDS

DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_DIR = DATA_DIR / "corpus"
SPLITS_FILE = DATA_DIR / "splits.json"
TRAIN_LANGS = ("en", "fr", "de", "nl", "es", "it", "sv", "pt")
# Never trained on: evaluation on them measures transfer to unseen languages.
TEST_ONLY_LANGS = ("pl", "da")
SPLITS = ("train", "validation", "test")


class DataError(ValueError):
    """A data file cannot be used; ``errors`` holds every bad row."""

    def __init__(self, errors: list[RecordError]):
        self.errors = errors
        shown = "\n".join(f"  {e}" for e in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} invalid rows:\n{shown}{more}")


def _validate(row: Mapping, file: str, line: int) -> LabelledPost | list[RecordError]:
    try:
        return LabelledPost.model_validate(dict(row))
    except ValidationError as exc:
        return validation_errors(exc, file, line)


def _rows(path: Path) -> Iterator[tuple[int, Mapping | RecordError]]:
    """(line or row number, raw row) for CSV and Parquet; JSON Lines goes through iter_jsonl."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            try:
                for row in reader:
                    yield reader.line_num, row
            except (csv.Error, UnicodeDecodeError) as exc:
                # The csv module cannot resume after a broken record: say so rather than
                # let the rest of the file vanish unreported.
                # line_num still counts the last good record; the broken one starts after it.
                line = reader.line_num + 1
                yield line, RecordError(str(path), line, None,
                                        f"unreadable CSV record ({exc}); this and later rows were not read")
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        row_no = 0
        for batch in pq.ParquetFile(path).iter_batches():
            for row in batch.to_pylist():
                row_no += 1
                yield row_no, row
    else:
        raise ValueError(f"{path}: unknown format {suffix!r} (use .jsonl, .csv or .parquet)")


def _coerce(row: dict) -> dict:
    """CSV cells are strings: read list and boolean fields the way people write them."""
    cats = row.get("categories")
    if isinstance(cats, str):
        cats = cats.strip()
        row["categories"] = json.loads(cats) if cats.startswith("[") else [c.strip() for c in cats.replace(";", ",").split(",") if c.strip()]
    yt = row.get("youth_targeting")
    if isinstance(yt, str) and yt.strip().lower() in ("true", "1", "yes", "false", "0", "no", ""):
        row["youth_targeting"] = yt.strip().lower() in ("true", "1", "yes")
    if row.get("note") is None:
        row["note"] = ""
    return row


def read_labelled(path: Path | str, column_map: Mapping[str, str] | None = None,
                  defaults: Mapping[str, object] | None = None) -> tuple[list[LabelledPost], list[RecordError]]:
    """Read a labelled file; ``column_map`` maps our field names to the file's column names.

    ``defaults`` fill fields the file does not have (for example ``{"genre": "other"}``).
    """
    path = Path(path)
    column_map = dict(column_map or {})
    defaults = dict(defaults or {})
    unknown = set(column_map) - set(RECORD_FIELDS)
    if unknown:
        raise ValueError(f"column map names unknown fields {sorted(unknown)}; fields are {RECORD_FIELDS}")
    good: list[LabelledPost] = []
    bad: list[RecordError] = []

    def mapped(raw: Mapping) -> dict:
        row = {f: raw[column_map.get(f, f)] for f in RECORD_FIELDS if column_map.get(f, f) in raw}
        for k, v in defaults.items():
            row.setdefault(k, v)
        return _coerce(row)

    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        if not column_map and not defaults:
            for rec in iter_jsonl(path, LabelledPost):
                (bad if isinstance(rec, RecordError) else good).append(rec)
            return good, bad
        rows: Iterable = iter_json_objects(path)
    else:
        rows = _rows(path)
    for line, raw in rows:
        if isinstance(raw, RecordError):
            bad.append(raw)
            continue
        out = _validate(mapped(raw), str(path), line)
        (bad.extend if isinstance(out, list) else good.append)(out)
    return good, bad


def corpus_files(corpus_dir: Path = CORPUS_DIR) -> list[Path]:
    return sorted(Path(corpus_dir).glob("*.jsonl"))


def read_corpus(corpus_dir: Path = CORPUS_DIR) -> list[LabelledPost]:
    """Every record of the seed corpus; raises ``DataError`` listing all bad rows."""
    records: list[LabelledPost] = []
    errors: list[RecordError] = []
    for path in corpus_files(corpus_dir):
        good, bad = read_labelled(path)
        records += good
        errors += bad
    errors += duplicate_id_errors(records)
    if errors:
        raise DataError(errors)
    return records


def duplicate_id_errors(records: list[LabelledPost]) -> list[RecordError]:
    counts = Counter(r.id for r in records)
    return [RecordError("<corpus>", 0, "id", f"id {i!r} appears {n} times") for i, n in counts.items() if n > 1]


def read_splits(path: Path = SPLITS_FILE) -> dict[str, str]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["splits"]


# --- datasets -------------------------------------------------------------------------


def features():
    from datasets import Features, Sequence, Value

    return Features({
        "id": Value("string"), "text": Value("string"), "lang": Value("string"),
        "label": Value("string"), "categories": Sequence(Value("string")),
        "youth_targeting": Value("bool"), "genre": Value("string"), "note": Value("string"),
    })


def to_dataset(records: Iterable[LabelledPost]):
    from datasets import Dataset

    rows = [r.model_dump() for r in records]
    for r in rows:
        r["categories"] = list(r["categories"])
    return Dataset.from_list(rows, features=features())


def load_corpus(corpus_dir: Path = CORPUS_DIR, splits_file: Path = SPLITS_FILE):
    """The seed corpus as a ``DatasetDict`` with ``train``, ``validation`` and ``test``."""
    from datasets import DatasetDict

    records = read_corpus(corpus_dir)
    assignment = read_splits(splits_file)
    missing = [r.id for r in records if r.id not in assignment]
    if missing:
        raise DataError([RecordError(str(splits_file), 0, "splits", f"{len(missing)} corpus ids have no split "
                                     f"(first: {missing[:3]}); run `recruitwatch data split`")])
    return DatasetDict({s: to_dataset(r for r in records if assignment[r.id] == s) for s in SPLITS})


def load_labelled(paths: Iterable[Path | str], column_map: Mapping[str, str] | None = None,
                  defaults: Mapping[str, object] | None = None):
    """User files as one ``Dataset``; raises ``DataError`` naming every bad row."""
    records: list[LabelledPost] = []
    errors: list[RecordError] = []
    for p in paths:
        good, bad = read_labelled(p, column_map, defaults)
        records += good
        errors += bad
    if errors:
        raise DataError(errors)
    return to_dataset(records)


def save_dataset(ds, folder: Path | str) -> Path:
    """Save as ``datasets`` format (``save_to_disk``) plus one JSON Lines file per split."""
    from datasets import DatasetDict

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():  # left by an interrupted save
        shutil.rmtree(tmp)
    ds.save_to_disk(str(tmp))
    parts = ds.items() if isinstance(ds, DatasetDict) else [("data", ds)]
    for name, part in parts:
        with open(tmp / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for row in part:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder
