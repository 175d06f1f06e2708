"""The typed records a scan reads and writes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

# Scored by the whole transformer, stopped at one of its early exits, or cleared by the lexical screen alone.
STAGES = ("model", "probe", "screen")


@dataclass(frozen=True)
class InputRow:
    line: int  # 1-based line (JSONL, CSV: where the record starts) or row number (Parquet)
    id: str
    text: str


@dataclass(frozen=True)
class RowError:
    """An input row that could not be scored, and why; it goes to the errors file."""

    file: str
    line: int
    reason: str
    id: str | None = None

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "id": self.id, "reason": self.reason}


class ScanRecord(BaseModel):
    """One output record per scored input row."""

    model_config = ConfigDict(frozen=True)

    id: str
    recruitment: float
    categories: dict[str, float]
    youth_targeting: float
    flagged: bool
    action: str
    rule: str | None
    signals: list[str]  # signal ids, in text order
    lang: str
    stage: str  # "model"; "probe" or "screen" when a cheaper stage cleared the post (see STAGES)
    model_version: str
    policy_version: str
    text: str | None = None  # only with --with-text (e.g. to push a scan's output to annotators)


@dataclass
class ScanSummary:
    """Running totals; kept in the checkpoint so a resumed scan reports the whole input."""

    rows_in: int = 0
    scored: int = 0
    errors: int = 0
    flagged: int = 0
    actions: Counter = field(default_factory=Counter)
    categories: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    stages: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, records: list[ScanRecord], errors: list[RowError], flagged_categories: list[list[str]]) -> None:
        self.rows_in += len(records) + len(errors)
        self.scored += len(records)
        self.errors += len(errors)
        for r, cats in zip(records, flagged_categories):
            self.flagged += r.flagged
            self.actions[r.action] += 1
            self.languages[r.lang] += 1
            self.stages[r.stage] += 1
            self.categories.update(cats)

    @property
    def conserved(self) -> bool:
        return self.rows_in == self.scored + self.errors

    def to_dict(self) -> dict:
        return {"rows_in": self.rows_in, "scored": self.scored, "errors": self.errors, "flagged": self.flagged,
                "actions": dict(self.actions), "categories": dict(self.categories),
                "languages": dict(self.languages), "stages": dict(self.stages), "seconds": round(self.seconds, 3)}

    @classmethod
    def from_dict(cls, d: dict) -> "ScanSummary":
        return cls(d["rows_in"], d["scored"], d["errors"], d["flagged"], Counter(d["actions"]),
                   Counter(d["categories"]), Counter(d["languages"]), Counter(d["stages"]), d.get("seconds", 0.0))
