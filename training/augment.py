"""A seeded, deterministic augmenter: the obfuscations recruiters use, applied to posts.

Each transform takes ``(text, rng)`` and returns a variant that keeps the post's meaning,
so labels carry over. The same seed and text always give the same variant, whatever
order posts come in (the generator is seeded from the seed and the text itself), which
makes robustness reports reproducible.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from detector.records import LabelledPost

Transform = Callable[[str, random.Random], str]
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)

LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "g": "9", "b": "8", "l": "1"}
# Latin letters and the Cyrillic or Greek letters that look the same.
HOMOGLYPHS = {"a": "а", "c": "с", "e": "е", "i": "і", "o": "оο", "p": "р", "x": "х", "y": "у",
              "A": "АΑ", "B": "ВΒ", "C": "С", "E": "ЕΕ", "H": "НΗ", "K": "КΚ", "M": "МΜ",
              "O": "ОΟ", "P": "РΡ", "T": "ТΤ", "X": "ХΧ"}
# Words for money in the corpus languages, and the emojis people write instead.
MONEY_WORDS = re.compile(
    r"\b(money|cash|geld|argent|thune|oseille|dinero|soldi|pengar|dinheiro|guita|kasa|penge|doekoe|moneyz)\b",
    re.IGNORECASE)
MONEY_EMOJI = ["💰", "💸", "💵", "💶", "🤑"]
FILLER_EMOJI = ["🔥", "💯", "👀", "😎", "🙏", "✅", "⚡", "👇"]
# Address terms and fillers that travel between languages on social media; none changes
# what a post asks for.
CODE_SWITCH = ["bro", "wesh", "yalla", "wallah", "no cap", "frère", "hermano", "bror", "mano", "fra",
               "ok?", "sheesh", "bre", "habibi", "digga", "man", "ayo", "ciao", "tío", "broer"]
HANDLE = re.compile(r"@[A-Za-z0-9_.]{2,}")
AMOUNT = re.compile(r"(?<![\d])(\d{2,6})(?=\s?(?:€|£|\$|kr|eur|euro|euros|k\b|zł))|(?<=[€£$])\s?(\d{2,6})", re.IGNORECASE)


def _pick_words(text: str, rng: random.Random, share: float) -> list[re.Match]:
    words = list(_WORD.finditer(text))
    if not words:
        return []
    k = max(1, round(len(words) * share))
    return sorted(rng.sample(words, min(k, len(words))), key=lambda m: m.start())


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for a, b, new in sorted(spans):
        out.append(text[last:a])
        out.append(new)
        last = b
    out.append(text[last:])
    return "".join(out)


def leetspeak(text: str, rng: random.Random) -> str:
    """m0n3y, 3a$y: digits and symbols for letters in some words."""
    spans = []
    for m in _pick_words(text, rng, 0.3):
        w = "".join(rng.choice(LEET[c.lower()]) if c.lower() in LEET and rng.random() < 0.7 else c for c in m.group())
        spans.append((m.start(), m.end(), w))
    return _replace_spans(text, spans)


def spacing(text: str, rng: random.Random) -> str:
    """s p a c e d or d.o.t.t.e.d letters in the longest words, to dodge keyword filters."""
    words = sorted(_WORD.finditer(text), key=lambda m: -len(m.group()))[:2]
    sep = rng.choice([" ", ".", "-", "_"])
    return _replace_spans(text, [(m.start(), m.end(), sep.join(m.group())) for m in words])


def homoglyphs(text: str, rng: random.Random) -> str:
    """Cyrillic or Greek look-alikes for Latin letters in some words."""
    spans = []
    for m in _pick_words(text, rng, 0.35):
        w = "".join(rng.choice(HOMOGLYPHS[c]) if c in HOMOGLYPHS and rng.random() < 0.6 else c for c in m.group())
        spans.append((m.start(), m.end(), w))
    return _replace_spans(text, spans)


def emoji_codes(text: str, rng: random.Random) -> str:
    """Money words written as emojis, and emoji decoration, as in coded ads."""
    text = MONEY_WORDS.sub(lambda m: rng.choice(MONEY_EMOJI) * rng.randint(1, 3), text)
    tail = "".join(rng.choice(FILLER_EMOJI + MONEY_EMOJI) for _ in range(rng.randint(1, 3)))
    return f"{text} {tail}" if rng.random() < 0.7 else f"{tail} {text}"


def case_punct(text: str, rng: random.Random) -> str:
    """Shouting, lower-case-everything, stretched letters and punctuation noise."""
    mode = rng.choice(["upper_words", "lower", "stretch", "punct"])
    if mode == "lower":
        return re.sub(r"[.!?,;:]", "", text.lower())
    if mode == "upper_words":
        return _replace_spans(text, [(m.start(), m.end(), m.group().upper()) for m in _pick_words(text, rng, 0.3)])
    if mode == "stretch":
        spans = [(m.start(), m.end(), m.group() + m.group()[-1] * rng.randint(2, 4)) for m in _pick_words(text, rng, 0.15)]
        return _replace_spans(text, spans)
    return re.sub(r"([.!?])", lambda m: m.group(1) * rng.randint(2, 4), text) + rng.choice(["!!!", "??", " !!", "..."])


def handle_amount_swap(text: str, rng: random.Random) -> str:
    """Other fake handles and other amounts of the same size: the same ad, reposted."""
    def handle(_m: re.Match) -> str:
        stem = rng.choice(["quick", "easy", "job", "work", "cash", "team", "plug", "info", "deal"])
        return f"@{stem}_{rng.choice(['xx', 'official', 'bot', 'nl', 'fr', 'se', ''])}{rng.randint(10, 999)}"

    def amount(m: re.Match) -> str:
        digits = m.group(1) or m.group(2)
        lead = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())]
        value = int(digits)
        new = max(10, int(value * rng.uniform(0.6, 1.6)))
        new = round(new, -1) if new >= 100 else new
        return lead + str(new)

    out = HANDLE.sub(handle, text)
    out = AMOUNT.sub(amount, out)
    if out == text:  # nothing to swap: add a contact line the way reposts do
        out = f"{text} {handle(None)}"  # type: ignore[arg-type]
    return out


def code_switch(text: str, rng: random.Random) -> str:
    """A filler or address term from another language at the start, middle or end."""
    frag = rng.choice(CODE_SWITCH)
    where = rng.random()
    if where < 0.34:
        return f"{frag} {text}"
    if where < 0.67:
        words = text.split(" ")
        i = rng.randint(1, max(1, len(words) - 1))
        return " ".join(words[:i] + [frag] + words[i:])
    return f"{text} {frag}"


TRANSFORMS: dict[str, Transform] = {
    "leetspeak": leetspeak,
    "spacing": spacing,
    "homoglyphs": homoglyphs,
    "emoji_codes": emoji_codes,
    "case_punct": case_punct,
    "handle_amount_swap": handle_amount_swap,
    "code_switch": code_switch,
}


@dataclass
class Augmenter:
    """Apply ``min_ops``..``max_ops`` randomly chosen transforms per variant, deterministically."""

    seed: int = 0
    transforms: tuple[str, ...] = tuple(TRANSFORMS)
    min_ops: int = 1
    max_ops: int = 2

    def __post_init__(self) -> None:
        unknown = set(self.transforms) - set(TRANSFORMS)
        if unknown:
            raise ValueError(f"unknown transforms {sorted(unknown)}; choose from {sorted(TRANSFORMS)}")

    def rng(self, text: str, variant: int = 0) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}\x00{variant}\x00{text}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def augment(self, text: str, variant: int = 0) -> str:
        rng = self.rng(text, variant)
        names = rng.sample(self.transforms, rng.randint(self.min_ops, min(self.max_ops, len(self.transforms))))
        for name in names:
            text = TRANSFORMS[name](text, rng)
        return text

    def augment_records(self, records: Iterable[LabelledPost], variants: int = 1) -> list[LabelledPost]:
        """New records with augmented text; every label field is copied unchanged."""
        out = []
        for r in records:
            for v in range(variants):
                out.append(r.model_copy(update={"id": f"{r.id}~aug{v}", "text": self.augment(r.text, v)}))
        return out
