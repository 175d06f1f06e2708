"""Apply a policy to a post's prediction and signals: the decision, the rule that fired, and why."""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from detector.normalize import normalize
from detector.records import Prediction
from detector.signals import Signal

from .schema import Policy, Rule, When


class RuleMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    state: str
    action: str
    reason: str


class Decision(BaseModel):
    """What the policy does with one post."""

    model_config = ConfigDict(frozen=True)

    action: str
    rule: str | None  # the live rule that decided; None when the default applied
    reason: str
    why: list[str]  # each condition of the deciding rule and the value that met it
    matched: list[RuleMatch]  # every live rule that matched, in order (the first decided)
    shadow: list[RuleMatch]  # shadow rules that matched: reported, never acting
    policy_version: str


class ModelRequired(ValueError):
    """A rule needs model scores but the post came without a prediction."""


@lru_cache(maxsize=4096)
def _word_pattern(word: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(word.lower()) + r"(?!\w)")


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def _signal_names(signals: list[Signal]) -> set[str]:
    return {s.type for s in signals} | {s.id for s in signals}


def check(when: When, text: str, prediction: Prediction | None, signals: list[Signal], lang: str) -> list[str] | None:
    """Reasons each condition holds, or None as soon as one fails."""
    why: list[str] = []
    if when.uses_model and prediction is None:
        raise ModelRequired("this policy has rules on model scores: give predictions (or use a keyword-only policy)")
    p = prediction
    if when.recruitment:
        if not when.recruitment.holds(p.recruitment):
            return None
        why.append(f"recruitment score {p.recruitment:.2f} in {_range(when.recruitment)}")
    if when.youth:
        if not when.youth.holds(p.youth_targeting):
            return None
        why.append(f"youth-targeting score {p.youth_targeting:.2f} in {_range(when.youth)}")
    if when.flagged is not None:
        if p.flagged != when.flagged:
            return None
        why.append("flagged by the model" if p.flagged else "not flagged by the model")
    if when.categories_any:
        hits = [c for c, t in when.categories_any.items() if p.categories.get(c, 0) >= t]
        if not hits:
            return None
        why.append("category " + ", ".join(f"{c} {p.categories[c]:.2f} ≥ {when.categories_any[c]}" for c in hits))
    if when.categories_all:
        if any(p.categories.get(c, 0) < t for c, t in when.categories_all.items()):
            return None
        why.append("categories " + ", ".join(f"{c} {p.categories[c]:.2f}" for c in when.categories_all))
    if when.lang:
        if (when.lang.in_ and lang not in when.lang.in_) or lang in when.lang.not_in:
            return None
        why.append(f"language {lang}")
    if when.signals:
        s = when.signals
        names = _signal_names(signals)
        if s.any_of and not names & set(s.any_of):
            return None
        if s.all_of and not set(s.all_of) <= names:
            return None
        if names & set(s.none_of):
            return None
        if s.min_count and len(signals) < s.min_count:
            return None
        if s.min_types and len({x.type for x in signals}) < s.min_types:
            return None
        used = set(s.any_of) | set(s.all_of)
        shown = [x for x in signals if not used or x.type in used or x.id in used]
        why.append("signals " + ", ".join(f"{x.type} “{x.text}”" for x in shown[:8]))
    if when.text:
        t = when.text
        low = normalize(text).lower()
        kw = [k for k in t.keywords if _word_pattern(k).search(low)]
        rx = [r for r in t.regex if _regex(r).search(low)]
        if (t.keywords or t.regex) and not (kw or rx):
            return None
        if any(_word_pattern(k).search(low) for k in t.exclude_keywords) or any(_regex(r).search(low) for r in t.exclude_regex):
            return None
        if kw or rx:
            why.append("text matches " + ", ".join([f"“{k}”" for k in kw] + [f"/{r}/" for r in rx]))
    return why or ["no conditions: matches every post"]


def _range(r) -> str:
    lo = f"≥ {r.min}" if r.min is not None else ""
    hi = f"< {r.max}" if r.max is not None else ""
    return " and ".join(x for x in (lo, hi) if x)


class PolicyEngine:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.active: list[Rule] = [r for r in policy.rules if r.state in ("live", "shadow")]

    @property
    def policy_version(self) -> str:
        return f"{self.policy.name}@{self.policy.version}"

    def decide(self, text: str, prediction: Prediction | None, signals: list[Signal], lang: str | None = None) -> Decision:
        lang = lang or (prediction.lang if prediction else "und")
        matched, shadow = [], []
        decided: tuple[Rule, list[str]] | None = None
        for rule in self.active:
            why = check(rule.when, text, prediction, signals, lang)
            if why is None:
                continue
            m = RuleMatch(rule=rule.id, state=rule.state, action=rule.action, reason=rule.reason)
            if rule.state == "shadow":
                shadow.append(m)
            else:
                matched.append(m)
                if decided is None:
                    decided = (rule, why)
        p = self.policy
        if decided is None:
            return Decision(action=p.default_action, rule=None, reason=p.default_reason, why=[], matched=matched,
                            shadow=shadow, policy_version=self.policy_version)
        rule, why = decided
        return Decision(action=rule.action, rule=rule.id, reason=rule.reason, why=why, matched=matched,
                        shadow=shadow, policy_version=self.policy_version)
