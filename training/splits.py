"""Assign corpus posts to train / validation / test so that no near-duplicate group straddles splits.

Groups are the connected components of near-duplicate pairs (``training.diversity``): one
ad and its reworded copies always land in the same split, so the test set never rewards
memorising a skeleton. Posts in the test-only languages go to ``test`` with their whole group.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from detector.records import LabelledPost

from .data import SPLITS_FILE, TEST_ONLY_LANGS
from .diversity import groups_from_pairs, near_duplicate_pairs

RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}
SEED = "recruitwatch-splits-v1"


def source_language(record: LabelledPost) -> str:
    """The language file a corpus post came from: ids are "<lang>-NNNN" (a "mixed" post keeps its file's code)."""
    return record.id.split("-", 1)[0]


def _bucket(key: str) -> float:
    digest = hashlib.sha256(f"{SEED}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(records: list[LabelledPost]) -> dict[str, str]:
    """id -> split, deterministic for a given corpus."""
    pairs = near_duplicate_pairs([r.text for r in records])
    groups = groups_from_pairs(len(records), pairs)
    members: dict[int, list[LabelledPost]] = {}
    for rec, g in zip(records, groups):
        members.setdefault(g, []).append(rec)
    out: dict[str, str] = {}
    for recs in members.values():
        if any(r.lang in TEST_ONLY_LANGS or source_language(r) in TEST_ONLY_LANGS for r in recs):
            split = "test"
        else:
            u = _bucket(min(r.id for r in recs))
            split = "train" if u < RATIOS["train"] else "validation" if u < RATIOS["train"] + RATIOS["validation"] else "test"
        for r in recs:
            out[r.id] = split
    return out


def write_splits(assignment: dict[str, str], path: Path = SPLITS_FILE) -> Path:
    path = Path(path)
    body = {
        "about": "Split of each corpus id; made by `recruitwatch data split` (training/splits.py).",
        "test_only_languages": list(TEST_ONLY_LANGS),
        "counts": dict(Counter(assignment.values())),
        "splits": dict(sorted(assignment.items())),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
