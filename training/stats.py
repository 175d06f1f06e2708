"""Counts and diversity figures of a labelled set, as plain records for tables and notes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from detector.records import LabelledPost
from detector.taxonomy import BENIGN_KINDS, CATEGORIES, GENRES, HARD_NEGATIVE_KINDS

from .diversity import Diversity, diversity


def note_kind(record: LabelledPost) -> str | None:
    """The benign kind a corpus note starts with ("legit_job: ..."), if any."""
    head = record.note.split(":", 1)[0].strip()
    return head if head in BENIGN_KINDS else None


@dataclass
class LanguageStats:
    lang: str
    posts: int = 0
    recruitment: int = 0
    benign: int = 0
    youth_recruitment: int = 0
    multi_category: int = 0
    hard_negatives: int = 0
    categories: Counter = field(default_factory=Counter)
    genres: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    diversity: Diversity | None = None


def corpus_stats(records: list[LabelledPost], with_diversity: bool = True) -> dict[str, LanguageStats]:
    """Per-language stats, plus an ``all`` row."""
    by_lang: dict[str, LanguageStats] = {}
    texts: dict[str, list[str]] = {}
    for r in records:
        for key in (r.lang, "all"):
            s = by_lang.setdefault(key, LanguageStats(key))
            texts.setdefault(key, []).append(r.text)
            s.posts += 1
            s.genres[r.genre] += 1
            if r.is_recruitment:
                s.recruitment += 1
                s.youth_recruitment += r.youth_targeting
                s.multi_category += len(r.categories) > 1
                s.categories.update(r.categories)
            else:
                s.benign += 1
                kind = note_kind(r)
                s.kinds[kind or "unspecified"] += 1
                s.hard_negatives += kind in HARD_NEGATIVE_KINDS
    if with_diversity:
        for key, s in by_lang.items():
            s.diversity = diversity(texts[key])
    ordered = dict(sorted(((k, v) for k, v in by_lang.items() if k != "all"), key=lambda kv: -kv[1].posts))
    if "all" in by_lang:
        ordered["all"] = by_lang["all"]
    return ordered


__all__ = ["LanguageStats", "corpus_stats", "note_kind", "CATEGORIES", "GENRES"]
