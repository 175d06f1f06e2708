"""What a policy is: metadata and ordered rules, validated with pydantic.

A rule's ``when`` block holds conditions that must all hold (a missing condition does not
constrain). The first matching ``live`` rule decides; ``shadow`` rules are evaluated and
reported but never act; ``draft`` and ``archived`` rules are not evaluated.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from detector.taxonomy import CATEGORIES

Action = Literal["allow", "label", "review", "escalate", "remove"]
State = Literal["live", "shadow", "draft", "archived"]
ACTIONS = ("allow", "label", "review", "escalate", "remove")
# How strongly an action intervenes; used to summarise and to pick exports' equivalents.
SEVERITY = {a: i for i, a in enumerate(ACTIONS)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Range(_Strict):
    """A score bound: ``min`` ≤ score (and score < ``max`` when given)."""

    min: float | None = Field(default=None, ge=0, le=1)
    max: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _possible(self) -> "Range":
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"can never hold: min {self.min} is not below max {self.max}")
        return self

    def holds(self, x: float) -> bool:
        return (self.min is None or x >= self.min) and (self.max is None or x < self.max)


class SignalCondition(_Strict):
    """Signal types or ids (``contact`` or ``contact.handle``)."""

    any_of: list[str] = Field(default_factory=list)
    all_of: list[str] = Field(default_factory=list)
    none_of: list[str] = Field(default_factory=list)
    min_count: int | None = Field(default=None, ge=1, description="at least this many signals")
    min_types: int | None = Field(default=None, ge=1, description="at least this many distinct signal types")


class LangCondition(_Strict):
    in_: list[str] = Field(default_factory=list, alias="in")
    not_in: list[str] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _possible(self) -> "LangCondition":
        both = set(self.in_) & set(self.not_in)
        if self.in_ and not set(self.in_) - set(self.not_in):
            raise ValueError(f"can never hold: every language in 'in' is also in 'not_in' ({sorted(both)})")
        return self


class TextCondition(_Strict):
    """Case-insensitive whole-word keywords and regexes over the normalised text."""

    keywords: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    exclude_keywords: list[str] = Field(default_factory=list)
    exclude_regex: list[str] = Field(default_factory=list)

    @field_validator("regex", "exclude_regex")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for i, p in enumerate(patterns):
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"regex {i} {p!r} does not compile: {exc}") from exc
        return patterns

    @field_validator("keywords", "exclude_keywords")
    @classmethod
    def _nonempty(cls, words: list[str]) -> list[str]:
        if any(not w.strip() for w in words):
            raise ValueError("empty keyword")
        return [w.strip() for w in words]


class When(_Strict):
    recruitment: Range | None = None
    youth: Range | None = None
    flagged: bool | None = Field(default=None, description="the model's own decision at its threshold")
    categories_any: dict[str, float] = Field(default_factory=dict, description="any listed category ≥ its score")
    categories_all: dict[str, float] = Field(default_factory=dict, description="every listed category ≥ its score")
    signals: SignalCondition | None = None
    lang: LangCondition | None = None
    text: TextCondition | None = None

    @field_validator("categories_any", "categories_all")
    @classmethod
    def _known_categories(cls, value: dict[str, float]) -> dict[str, float]:
        for c, v in value.items():
            if c not in CATEGORIES:
                raise ValueError(f"unknown category {c!r}; categories are {list(CATEGORIES)}")
            if not 0 <= v <= 1:
                raise ValueError(f"score for {c!r} must be between 0 and 1, got {v}")
        return value

    @property
    def uses_model(self) -> bool:
        return bool(self.recruitment or self.youth or self.flagged is not None or self.categories_any or self.categories_all)

    @property
    def is_empty(self) -> bool:
        return not (self.uses_model or self.signals or self.lang or self.text)


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    state: State = "live"
    when: When = Field(default_factory=When)
    action: Action
    reason: str = Field(min_length=1, description="shown to reviewers")


class Policy(_Strict):
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    description: str = ""
    default_action: Action = "allow"
    default_reason: str = "No rule matched."
    rules: list[Rule] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v):
        return str(v) if isinstance(v, (int, float)) else v

    @property
    def uses_model(self) -> bool:
        return any(r.when.uses_model for r in self.rules if r.state in ("live", "shadow"))
