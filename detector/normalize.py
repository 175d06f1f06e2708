"""Undo the obfuscations recruiters use before the model reads a post.

One function, ``normalize``, used by training and inference alike, so the model never
sees a form at run time that it did not see in training. Each step is conservative: it
only rewrites a word when the rewrite is unambiguous (a word of letters with a few digits
inside, a run of single letters, a Cyrillic letter among Latin ones), and leaves prices,
times and ordinary numbers alone.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

NORMALIZER_VERSION = 1

# Cyrillic and Greek letters that look like Latin ones; used only inside words that are
# mostly Latin, so Russian or Greek text is left as it is.
_CONFUSABLES = str.maketrans({
    "а": "a", "с": "c", "е": "e", "і": "i", "о": "o", "р": "p", "х": "x", "у": "y", "ѕ": "s", "ј": "j",
    "ο": "o", "ν": "v", "τ": "t", "ι": "i", "κ": "k", "α": "a", "ε": "e",
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "К": "K", "М": "M", "О": "O", "Р": "P",
    "Т": "T", "Х": "X", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Κ": "K", "Μ": "M", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Χ": "X", "Ι": "I", "Ν": "N", "Ζ": "Z",
})
_LEET = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s",
                       "7": "t", "9": "g", "8": "b"})
_TOKEN = re.compile(r"\S+")
# A run of at least four single letters separated by one consistent separator:
# "c a s h", "m.o.n.e.y", "q-u-i-c-k".
_SPACED = re.compile(r"(?<!\w)[^\W\d_]([ .\-_*])(?:[^\W\d_]\1){2,}[^\W\d_](?!\w)")
# Numbers with a unit are not leetspeak: 24h, 5k, 2x, 1st, 10min, 50kr.
_UNIT = re.compile(r"\d+(h|k|m|x|u|st|nd|rd|th|min|am|pm|kg|km|kr|eur|hrs?|ans?|jours?|ste?|de|er|e|j)", re.I)
_WORDLIKE = re.compile(r"[\w@$!]+")
_VARIATION = re.compile("[\ufe0e\ufe0f\u200d]|[\U0001F3FB-\U0001F3FF]")


def _is_latin(ch: str) -> bool:
    return "LATIN" in unicodedata.name(ch, "")


def _fold_confusables(word: str) -> str:
    if word.isascii():  # every ASCII letter is Latin already
        return word
    letters = [c for c in word if c.isalpha()]
    latin = sum(_is_latin(c) for c in letters)
    # Only words that are already mostly Latin: a Russian word stays Russian.
    if letters and latin and latin >= len(letters) / 2 and latin < len(letters):
        return word.translate(_CONFUSABLES)
    return word


def _fold_leet(token: str) -> str:
    core = token.strip(".,;:?!\"'()[]{}«»“”")
    # Only word-like tokens: "3k/day", "06-12345678" or a link are not leetspeak.
    if len(core) < 3 or core.startswith("@") or not _WORDLIKE.fullmatch(core):
        return token
    leet = sum(c in "4@3105$798!" for c in core)
    letters = sum(c.isalpha() for c in core)
    # m0n3y, c4$h, 7he, m35$a93: letters with symbols mixed in. Not 500€, 24h, 4u, @handles,
    # nor names that end in a number (ps5, gta5, covid19, iphone15).
    if leet == 0 or letters < 2 or _UNIT.fullmatch(core):
        return token
    tail = re.fullmatch(r"([^\W\d_]+)(\d+)", core)
    if tail and (len(tail.group(2)) > 1 or len(tail.group(1)) <= 4):
        return token
    return token.replace(core, core.translate(_LEET))


@lru_cache(maxsize=1 << 16)
def _fold_token(token: str) -> str:
    # Posts repeat their words a great deal; a scan folds each distinct word once.
    return _fold_leet(_fold_confusables(token))


def _join_spaced(match: re.Match) -> str:
    return match.group(0)[0::2]


def normalize(text: str) -> str:
    """NFKC, look-alike letters, s p a c e d words, leetspeak, emoji variation marks."""
    text = unicodedata.normalize("NFKC", text)
    text = _VARIATION.sub("", text)
    text = _SPACED.sub(_join_spaced, text)
    return _TOKEN.sub(lambda m: _fold_token(m.group()), text)


def fold_same_length(text: str) -> str:
    """Look-alike letters and leetspeak only: every character keeps its offset.

    Pattern matchers run on this, so the spans they find point into the original text.
    """
    return _TOKEN.sub(lambda m: _fold_token(m.group()), text)
