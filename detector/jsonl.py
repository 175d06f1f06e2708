"""Read JSON Lines into typed records; every bad line becomes an error that names its place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TypeVar

from pydantic import BaseModel, ValidationError

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class RecordError:
    file: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f" field '{self.field}'" if self.field else "")
        return f"{where}: {self.message}"


def iter_json_objects(path: Path | str) -> Iterator[tuple[int, dict | RecordError]]:
    """(line number, object) per non-blank line, or a ``RecordError`` for a line that is not one."""
    path = Path(path)
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, RecordError(str(path), lineno, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, RecordError(str(path), lineno, None, f"bad JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(obj, dict):
                yield lineno, RecordError(str(path), lineno, None, f"expected a JSON object, got {type(obj).__name__}")
                continue
            yield lineno, obj


def validation_errors(exc: ValidationError, file: str, line: int) -> list[RecordError]:
    return [RecordError(file, line, ".".join(str(p) for p in e["loc"]) or None, e["msg"]) for e in exc.errors()]


def iter_jsonl(path: Path | str, model: type[R]) -> Iterator[R | RecordError]:
    """Yield a ``model`` per good line and a ``RecordError`` per bad one, in file order.

    Blank lines are skipped; nothing else is dropped silently.
    """
    for lineno, obj in iter_json_objects(path):
        if isinstance(obj, RecordError):
            yield obj
            continue
        try:
            yield model.model_validate(obj)
        except ValidationError as exc:
            yield from validation_errors(exc, str(path), lineno)
