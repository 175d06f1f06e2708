"""Interpretable cues in a post, found with spaCy patterns kept as data files per language.

Signals explain a score and feed policy rules: money offers, contact moves, secrecy,
urgency, age and school cues, no-experience/no-ID cues, travel offers, drug, weapon and
port terms, and emoji codes. Patterns live in ``signal_patterns/<lang>.jsonl`` (one JSON
object a line: ``{"id", "type", "phrase"}`` for a phrase matched on lower case, or
``{"id", "type", "tokens"}`` for a spaCy ``Matcher`` token pattern); ``xx.jsonl`` holds
the language-independent ones (emojis, handles, amounts, app names), used for every post
and alone for languages without a file. Trained spaCy pipelines are not installable
offline, so tokenisation is ``spacy.blank(lang)``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .normalize import fold_same_length

PATTERN_DIR = Path(__file__).resolve().parent / "signal_patterns"
MULTILINGUAL = "xx"
SIGNAL_TYPES = {
    "money": "money offers, pay rates, amounts",
    "contact": "moves to a private channel: DM, Snap, Telegram, handles, 'add me'",
    "secrecy": "'no questions asked', 'discreet', delete the chat",
    "urgency": "tonight, ASAP, first to answer",
    "age_school": "ages under 18, school, pocket money",
    "no_experience": "no experience, no ID, no papers needed",
    "travel": "travel, lodging and food paid ('nourri logé', 'we pay the train')",
    "drug": "drug terms and slang",
    "weapon": "weapons and explosives",
    "port": "ports, containers, extraction",
    "emoji": "emoji codes for goods, money, weapons, secrecy",
}


class PatternError(ValueError):
    """A pattern file entry is malformed; the message names file, line and field."""


@dataclass(frozen=True)
class Signal:
    id: str
    type: str
    text: str
    start: int  # character offsets into the original post
    end: int
    lang: str


def pattern_languages() -> list[str]:
    return sorted(p.stem for p in PATTERN_DIR.glob("*.jsonl"))


def load_patterns(path: Path) -> list[dict]:
    entries = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PatternError(f"{path}:{lineno}: bad JSON ({exc.msg})") from exc
        for field in ("id", "type"):
            if not isinstance(e.get(field), str) or not e[field]:
                raise PatternError(f"{path}:{lineno} field '{field}': missing")
        if e["type"] not in SIGNAL_TYPES:
            raise PatternError(f"{path}:{lineno} field 'type': {e['type']!r} is not one of {sorted(SIGNAL_TYPES)}")
        if not e["id"].startswith(e["type"] + "."):
            raise PatternError(f"{path}:{lineno} field 'id': {e['id']!r} must start with '{e['type']}.'")
        if ("phrase" in e) == ("tokens" in e):
            raise PatternError(f"{path}:{lineno}: give exactly one of 'phrase' or 'tokens'")
        e["_line"] = lineno
        entries.append(e)
    return entries


_SPEC_KEYS = {"LOWER", "TEXT", "ORTH", "LIKE_NUM", "IS_ALPHA", "IS_DIGIT"}


def _spec_holds(spec: dict, token) -> bool:
    """Whether one token satisfies a required token spec; unknown keys count as satisfied."""
    for key, want in spec.items():
        if key not in _SPEC_KEYS:
            continue
        if key in ("LIKE_NUM", "IS_ALPHA", "IS_DIGIT"):
            if getattr(token, key.lower()) != bool(want):
                return False
            continue
        value = token.lower_ if key == "LOWER" else token.text
        if isinstance(want, str):
            ok = value == want
        elif isinstance(want, dict):
            ok = True
            if "IN" in want:
                ok = ok and value in want["IN"]
            if "NOT_IN" in want:
                ok = ok and value not in want["NOT_IN"]
            if "REGEX" in want:
                ok = ok and re.search(want["REGEX"], value) is not None
        else:
            ok = True
        if not ok:
            return False
    return True


def _optional(op: str | None) -> bool:
    """Whether a token with this ``OP`` may be absent from a match (``?``, ``*``, ``!``, ``{0,n}``, ``{,n}``)."""
    if op in ("?", "*", "!"):
        return True
    if op and op.startswith("{"):
        low = op.strip("{}").split(",")[0]
        return low in ("", "0")
    return False


class TokenGate:
    """Skips the token ``Matcher`` on posts where no pattern can match (most posts, and the slow part).

    A pattern can only match if every one of its required tokens (not optional by its ``OP``)
    is satisfied by some token of the post. Which specs a word satisfies is worked out
    once per distinct word and cached, so a stream with a Zipfian vocabulary pays
    almost nothing. The gate is conservative: it never skips a post that could match.
    """

    MAX_CACHE = 200_000

    def __init__(self):
        self.specs: list[dict] = []
        self._spec_ids: dict[str, int] = {}
        self.patterns: list[frozenset[int]] = []
        self._cache: dict[str, frozenset[int]] = {}

    def add(self, tokens: list[dict]) -> None:
        ids = set()
        for tok in tokens:
            if _optional(tok.get("OP")):
                continue
            spec = {k: v for k, v in tok.items() if k != "OP"}
            key = json.dumps(spec, sort_keys=True, ensure_ascii=False)
            if key not in self._spec_ids:
                self._spec_ids[key] = len(self.specs)
                self.specs.append(spec)
            ids.add(self._spec_ids[key])
        self.patterns.append(frozenset(ids))
        self._cache.clear()

    def _satisfied(self, token) -> frozenset[int]:
        got = self._cache.get(token.text)
        if got is None:
            if len(self._cache) >= self.MAX_CACHE:
                self._cache.clear()
            got = frozenset(i for i, spec in enumerate(self.specs) if _spec_holds(spec, token))
            self._cache[token.text] = got
        return got

    def could_match(self, doc) -> bool:
        if not self.patterns:
            return False
        seen: set[int] = set()
        for token in doc:
            seen |= self._satisfied(token)
        return any(p <= seen for p in self.patterns)


class _LangMatcher:
    def __init__(self, lang: str):
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        try:
            self.nlp = spacy.blank(lang)
        except (ImportError, KeyError, ValueError):
            self.nlp = spacy.blank(MULTILINGUAL)
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.tokens = Matcher(self.nlp.vocab)
        self.gate = TokenGate()
        self.types: dict[str, str] = {}
        files = [PATTERN_DIR / f"{MULTILINGUAL}.jsonl"]
        if lang != MULTILINGUAL and (PATTERN_DIR / f"{lang}.jsonl").is_file():
            files.append(PATTERN_DIR / f"{lang}.jsonl")
        for path in files:
            for e in load_patterns(path):
                self.types[e["id"]] = e["type"]
                if "phrase" in e:
                    self.phrases.add(e["id"], [self.nlp.make_doc(e["phrase"].lower())])
                else:
                    try:
                        self.tokens.add(e["id"], [e["tokens"]])
                    except (ValueError, KeyError, TypeError) as exc:
                        raise PatternError(f"{path}:{e['_line']} field 'tokens': {exc}") from exc
                    self.gate.add(e["tokens"])

    def __call__(self, text: str, lang: str) -> list[Signal]:
        doc = self.nlp.make_doc(fold_same_length(text))
        found = {}
        matches = list(self.phrases(doc))
        if self.gate.could_match(doc):
            matches += list(self.tokens(doc))
        for match_id, start, end in matches:
            span = doc[start:end]
            sid = self.nlp.vocab.strings[match_id]
            key = (sid, span.start_char, span.end_char)
            found[key] = Signal(sid, self.types[sid], text[span.start_char:span.end_char],
                                span.start_char, span.end_char, lang)
        # Longest first at each place, then drop matches of the same type inside a longer one.
        ordered = sorted(found.values(), key=lambda s: (s.start, -(s.end - s.start)))
        kept: list[Signal] = []
        for s in ordered:
            if any(k.type == s.type and k.start <= s.start and s.end <= k.end for k in kept):
                continue
            kept.append(s)
        return kept


@lru_cache(maxsize=32)
def _matcher(lang: str) -> _LangMatcher:
    return _LangMatcher(lang)


def find_signals(text: str, lang: str | None = None) -> list[Signal]:
    """Signals in ``text``; ``lang`` picks the pattern set (unknown or missing: multilingual only)."""
    known = set(pattern_languages())
    key = lang if lang in known else MULTILINGUAL
    return _matcher(key)(text, key if lang in known else (lang or "und"))


def signal_types(signals: list[Signal]) -> set[str]:
    return {s.type for s in signals}
