"""Which words moved the recruitment score: word occlusion, scored in one batched call.

Each word (or, for long posts, each group of neighbouring words) is removed in turn and
the post is scored again; a word's ``delta`` is the recruitment probability of the whole
post minus that of the post without it. A positive delta means the word pushed the score
towards recruitment, a negative one pulled it away (a warning's "police", say).

The cost is bounded: at most ``max_units`` variants are scored (words beyond that are
grouped), and the post itself is read the way ``Detector.scores`` reads it (long posts in
windows), so one explanation costs about ``max_units + 1`` predictions in one batch.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import numpy as np

# A unit is a word (letters and digits, with inner apostrophes, dots or hyphens, and an
# optional leading @ or #), a one- or two-character piece of a script written without
# spaces (Chinese, Japanese, Thai), or a run of symbols such as emojis and currency signs.
_NO_SPACE_SCRIPTS = r"\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Plain punctuation carries no meaning worth showing: it is never part of a unit.
_PUNCT = ".,;:!?\"'()[]{}-–—…/\\|*_«»„“”‘’¿¡·"
_UNIT = re.compile(
    rf"[{_NO_SPACE_SCRIPTS}]{{1,2}}"
    r"|[@#]?\w+(?:['’.\-]\w+)*\+?"
    rf"|[^\w\s{re.escape(_PUNCT)}]+"
)

MAX_UNITS = 48
MAX_CHARS = 5000


@dataclass(frozen=True)
class WordAttribution:
    """One word or word group: its place in the post and how much it moved the score."""

    word: str
    start: int  # character offsets into the post
    end: int
    delta: float  # recruitment(post) - recruitment(post without this word); > 0 pushed towards recruitment
    logit_delta: float  # the same difference in log-odds: it still separates words when the score is near 0 or 1


@dataclass(frozen=True)
class Explanation:
    text: str
    recruitment: float  # the post's calibrated recruitment probability
    words: list[WordAttribution] = field(default_factory=list)  # in text order
    grouped: bool = False  # True when the post had more than max_units words and they were grouped
    group_size: int = 1

    def top(self, k: int = 5, positive: bool = True) -> list[WordAttribution]:
        """The ``k`` words that pushed the score up most (or, with positive=False, down most).

        Ranked by log-odds change, which orders words the same way as the probability change
        but still tells them apart when the post's score is saturated (0.995 and 0.999 are
        close in probability, far in log-odds).
        """
        sign = 1 if positive else -1
        ranked = sorted((w for w in self.words if sign * w.logit_delta > 0), key=lambda w: -sign * w.logit_delta)
        return ranked[:k]

    def as_dict(self) -> dict:
        return {"recruitment": self.recruitment, "grouped": self.grouped, "group_size": self.group_size,
                "words": [asdict(w) for w in self.words]}


def band_of(score: float, threshold: float, review_band: tuple[float, float]) -> str:
    """The calibrated band a recruitment score falls in, in words (``Detector.config`` gives the bounds)."""
    lo, hi = review_band
    if score >= hi:
        return "likely recruitment"
    if score >= threshold:
        return "flagged, uncertain: human review"
    if score >= lo:
        return "uncertain: human review"
    return "unlikely recruitment"


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word-like unit of ``text``, punctuation-only runs left out."""
    return [(m.start(), m.end()) for m in _UNIT.finditer(text)]


def group_spans(spans: list[tuple[int, int]], max_units: int = MAX_UNITS) -> tuple[list[tuple[int, int]], int]:
    """Merge neighbouring spans so there are at most ``max_units``; returns the spans and the group size."""
    if max_units < 1:
        raise ValueError("max_units must be at least 1")
    if len(spans) <= max_units:
        return spans, 1
    size = math.ceil(len(spans) / max_units)
    return [(spans[i][0], spans[min(i + size, len(spans)) - 1][1]) for i in range(0, len(spans), size)], size


def without(text: str, start: int, end: int) -> str:
    """The post with ``text[start:end]`` removed (one space kept where two would meet)."""
    left, right = text[:start], text[end:]
    if left.endswith(" ") and right.startswith(" "):
        right = right[1:]
    return left + right


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def explain(detector, text: str, max_units: int = MAX_UNITS, batch_size: int = 64) -> Explanation:
    """Word-occlusion attribution of the recruitment score of ``text`` (see the module docstring)."""
    if len(text) > MAX_CHARS:
        raise ValueError(f"post is {len(text):,} characters; explanations are limited to {MAX_CHARS:,}")
    spans, size = group_spans(word_spans(text), max_units)
    variants = [without(text, s, e) for s, e in spans]
    scores = np.asarray(detector.scores([text] + variants, batch_size=batch_size)["recruitment"], dtype=np.float64)
    logits = _logit(scores)
    base = float(scores[0])
    words = [WordAttribution(text[s:e], s, e, base - float(v), float(logits[0] - lv))
             for (s, e), v, lv in zip(spans, scores[1:], logits[1:])]
    return Explanation(text, base, words, grouped=size > 1, group_size=size)
