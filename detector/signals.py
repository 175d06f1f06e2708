"""Interpretable cues in a post, found with spaCy patterns kept as data files per language.

Signals explain a score, feed policy rules and, counted, the youth and category heads: money offers, contact moves, secrecy,
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
from typing import Sequence

import numpy as np

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


@lru_cache(maxsize=1)
def _pattern_languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PATTERN_DIR.glob("*.jsonl")))


def pattern_languages() -> list[str]:
    return list(_pattern_languages())


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


def _compiled(spec: dict) -> dict:
    """The spec with its REGEX values compiled once (``re`` would otherwise look them up per call)."""
    out = {}
    for key, want in spec.items():
        if isinstance(want, dict) and "REGEX" in want:
            want = {**want, "REGEX": re.compile(want["REGEX"])}
        out[key] = want
    return out


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
                ok = ok and want["REGEX"].search(value) is not None
        else:
            ok = True
        if not ok:
            return False
    return True


def _lookup_key(spec: dict) -> tuple[str, list[str]] | None:
    """(attribute, words) when a spec is one word list on LOWER or TEXT/ORTH: answerable by a dict lookup."""
    if len(spec) != 1:
        return None
    (key, want), = spec.items()
    if key not in ("LOWER", "TEXT", "ORTH"):
        return None
    attr = "LOWER" if key == "LOWER" else "TEXT"
    if isinstance(want, str):
        return attr, [want]
    if isinstance(want, dict) and set(want) == {"IN"} and all(isinstance(w, str) for w in want["IN"]):
        return attr, list(want["IN"])
    return None


def _lower_regex(spec: dict) -> str | None:
    if len(spec) == 1 and isinstance(spec.get("LOWER"), dict) and set(spec["LOWER"]) == {"REGEX"}:
        return spec["LOWER"]["REGEX"]
    return None


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
        self._spec_ids: dict[str, int] = {}
        self.patterns: list[tuple[frozenset[int], str]] = []  # required spec ids, and the pattern's group
        self._cache: dict[int, frozenset[int]] = {}  # by the word's orth id
        # Word-list specs are answered by lookup; LOWER regexes share one combined pre-check.
        self._lookup: dict[str, dict[str, set[int]]] = {"LOWER": {}, "TEXT": {}}
        self._regexes: list[tuple[int, dict, str]] = []
        self._other: list[tuple[int, dict]] = []
        self._any_regex: re.Pattern | None = None

    def add(self, tokens: list[dict], group: str = "") -> None:
        ids = set()
        for tok in tokens:
            if _optional(tok.get("OP")):
                continue
            spec = {k: v for k, v in tok.items() if k != "OP"}
            key = json.dumps(spec, sort_keys=True, ensure_ascii=False)
            if key not in self._spec_ids:
                self._register(len(self._spec_ids), spec)
                self._spec_ids[key] = len(self._spec_ids)
            ids.add(self._spec_ids[key])
        self.patterns.append((frozenset(ids), group))
        self._cache.clear()

    def _register(self, i: int, spec: dict) -> None:
        lookup, rx = _lookup_key(spec), _lower_regex(spec)
        if lookup:
            attr, words = lookup
            for w in words:
                self._lookup[attr].setdefault(w, set()).add(i)
        elif rx is not None:
            self._regexes.append((i, _compiled(spec), rx))
            self._any_regex = None  # rebuilt on first use
        else:
            self._other.append((i, _compiled(spec)))

    def _combined(self) -> re.Pattern | None:
        if self._any_regex is None and self._regexes:
            parts = []
            for _, _, rx in self._regexes:
                parts.append(f"(?i:{rx[4:]})" if rx.startswith("(?i)") else f"(?:{rx})")
            try:
                self._any_regex = re.compile("|".join(parts))
            except re.error:  # an inline flag that cannot be combined: check each regex instead
                self._any_regex = re.compile("")
        return self._any_regex

    def _satisfied(self, token) -> frozenset[int]:
        """Spec ids a word satisfies (``token``: a spaCy Token or Lexeme; specs read only word-level attributes)."""
        got = self._cache.get(token.orth)
        if got is None:
            if len(self._cache) >= self.MAX_CACHE:
                self._cache.clear()
            ids = set(self._lookup["LOWER"].get(token.lower_, ())) | set(self._lookup["TEXT"].get(token.text, ()))
            combined = self._combined()
            if combined is not None and combined.search(token.lower_):
                ids.update(i for i, spec, _ in self._regexes if _spec_holds(spec, token))
            ids.update(i for i, spec in self._other if _spec_holds(spec, token))
            got = frozenset(ids)
            self._cache[token.orth] = got
        return got

    def feasible_groups(self, doc) -> set[str]:
        """The groups with at least one pattern that could match ``doc``."""
        if not self.patterns:
            return set()
        from spacy.attrs import ORTH

        seen: set[int] = set()
        vocab = doc.vocab
        # Distinct words as ids: building a Token object per token cost more than the check itself.
        for orth in set(doc.to_array(ORTH).tolist()) if len(doc) else ():
            got = self._cache.get(orth)
            seen |= got if got is not None else self._satisfied(vocab[orth])
        return {group for required, group in self.patterns if required <= seen}


class _LangMatcher:
    def __init__(self, lang: str):
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        try:
            self.nlp = spacy.blank(lang)
        except (ImportError, KeyError, ValueError):
            self.nlp = spacy.blank(MULTILINGUAL)
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        # One token Matcher per signal type: a post only runs the types the gate finds feasible.
        self.tokens: dict[str, Matcher] = {}
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
                        self.tokens.setdefault(e["type"], Matcher(self.nlp.vocab)).add(e["id"], [e["tokens"]])
                    except (ValueError, KeyError, TypeError) as exc:
                        raise PatternError(f"{path}:{e['_line']} field 'tokens': {exc}") from exc
                    self.gate.add(e["tokens"], e["type"])

    def __call__(self, text: str, lang: str) -> list[Signal]:
        doc = self.nlp.make_doc(fold_same_length(text))
        found = {}
        matches = list(self.phrases(doc))
        for group in sorted(self.gate.feasible_groups(doc)):
            matches += list(self.tokens[group](doc))
        for match_id, start, end in matches:
            span = doc[start:end]
            sid = self.nlp.vocab.strings[match_id]
            key = (sid, span.start_char, span.end_char)
            found[key] = Signal(sid, self.types[sid], text[span.start_char:span.end_char],
                                span.start_char, span.end_char, lang)
        # Longest first at each place, then drop matches of the same type inside a longer one.
        # Ties broken by type and id, so the order never depends on hashing (scans must be reproducible).
        ordered = sorted(found.values(), key=lambda s: (s.start, -(s.end - s.start), s.type, s.id))
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
    known = _pattern_languages()
    key = lang if lang in known else MULTILINGUAL
    return _matcher(key)(text, key if lang in known else (lang or "und"))


def signal_types(signals: list[Signal]) -> set[str]:
    return {s.type for s in signals}


def signal_counts(signals: Sequence[list[Signal]], types: Sequence[str]) -> np.ndarray:
    """(posts, types): log(1 + count) of each signal type in each post, a feature for the heads."""
    counts = np.zeros((len(signals), len(types)), dtype=np.float32)
    column = {t: j for j, t in enumerate(types)}
    for i, found in enumerate(signals):
        for s in found:
            if s.type in column:
                counts[i, column[s.type]] += 1
    return np.log1p(counts)
