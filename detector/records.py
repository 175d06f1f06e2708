"""Typed records at the package's boundaries: a post in, a labelled post on disk, a prediction out."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from .taxonomy import BENIGN, CATEGORIES, GENRES, LABELS, MIXED_LANG, RECRUITMENT, UNKNOWN_LANG

Label = Literal[LABELS]  # type: ignore[valid-type]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Genre = Literal[GENRES]  # type: ignore[valid-type]

_LANG = re.compile(r"^[a-z]{2}$")


def check_lang(value: str | None) -> str | None:
    if value is None or value in (MIXED_LANG, UNKNOWN_LANG) or _LANG.match(value):
        return value
    raise ValueError(f"{value!r} is not an ISO 639-1 code (two lowercase letters), 'mixed' or 'und'")


class Post(BaseModel):
    """A post to score. ``lang`` is optional: the detector identifies it when missing."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    text: str
    lang: str | None = None

    _lang = field_validator("lang")(check_lang)


class LabelledPost(Post):
    """One record of the corpus or of an annotated dataset (JSON Lines on disk)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lang: str
    label: Label
    categories: tuple[Category, ...] = ()
    youth_targeting: bool
    genre: Genre
    note: str = ""

    @field_validator("categories")
    @classmethod
    def _categories_match_label(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        # `label` is declared first, so it is already validated here (absent if it failed).
        label = info.data.get("label")
        if len(set(value)) != len(value):
            raise ValueError("a category is listed twice")
        if label == RECRUITMENT and not value:
            raise ValueError("a recruitment post needs at least one category")
        if label == BENIGN and value:
            raise ValueError("a benign post takes no categories")
        return value

    @property
    def is_recruitment(self) -> bool:
        return self.label == RECRUITMENT


class Prediction(BaseModel):
    """What the detector says about one post. Scores are calibrated probabilities."""

    model_config = ConfigDict(frozen=True)

    recruitment: float = Field(ge=0, le=1)
    flagged: bool
    categories: dict[str, float]
    flagged_categories: list[str]
    youth_targeting: float = Field(ge=0, le=1)
    youth_flagged: bool
    lang: str
