"""``policy test``: how well each rule and the whole policy work on labelled posts.

Per rule (live and shadow side by side): posts it matches, precision (share of them that
are recruitment), recall (share of all recruitment it matches) and volume (share of all
posts it matches); the same for the policy's decisions overall and per language, the
share of benign posts actioned, recall on youth-targeting posts, and a diff against
another version of the policy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from detector.langid import identify
from detector.records import LabelledPost, Prediction
from detector.signals import Signal, find_signals

from .engine import Decision, PolicyEngine
from .schema import Policy


@dataclass
class Scored:
    """Everything the engine needs per post, computed once and shared by policy versions."""

    records: list[LabelledPost]
    predictions: list[Prediction] | None
    signals: list[list[Signal]]
    langs: list[str]


def score_posts(records: list[LabelledPost], detector=None) -> Scored:
    texts = [r.text for r in records]
    preds = detector.predict(texts) if detector is not None else None
    langs = [p.lang for p in preds] if preds else [identify(t) for t in texts]
    return Scored(records, preds, [find_signals(t, l) for t, l in zip(texts, langs)], langs)


def decide_all(policy: Policy, scored: Scored) -> list[Decision]:
    engine = PolicyEngine(policy)
    preds = scored.predictions or [None] * len(scored.records)
    return [engine.decide(r.text, p, s, l) for r, p, s, l in zip(scored.records, preds, scored.signals, scored.langs)]


def _figures(selected: list[bool], records: list[LabelledPost]) -> dict:
    n = len(records)
    pos = [r.is_recruitment for r in records]
    hit = sum(s and p for s, p in zip(selected, pos))
    sel = sum(selected)
    return {"posts": sel, "precision": hit / sel if sel else None, "recall": hit / sum(pos) if sum(pos) else None,
            "volume": sel / n if n else 0.0}


@dataclass
class PolicyReport:
    policy: str
    posts: int
    recruitment_posts: int
    rules: list[dict] = field(default_factory=list)
    overall: dict = field(default_factory=dict)
    per_language: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)
    diff: dict | None = None


def evaluate_policy(policy: Policy, scored: Scored, baseline: Policy | None = None, max_diff_rows: int = 50) -> PolicyReport:
    records = scored.records
    decisions = decide_all(policy, scored)
    report = PolicyReport(f"{policy.name}@{policy.version}", len(records), sum(r.is_recruitment for r in records))
    for rule in policy.rules:
        if rule.state not in ("live", "shadow"):
            report.rules.append({"id": rule.id, "state": rule.state, "action": rule.action, "evaluated": False})
            continue
        matched = [any(m.rule == rule.id for m in d.matched + d.shadow) for d in decisions]
        decided = [d.rule == rule.id for d in decisions]
        report.rules.append({"id": rule.id, "state": rule.state, "action": rule.action, "evaluated": True,
                             "matches": _figures(matched, records), "decides": _figures(decided, records)})
    actioned = [d.action != "allow" for d in decisions]
    overall = _figures(actioned, records)
    benign = [not r.is_recruitment for r in records]
    overall["benign_actioned"] = sum(a and b for a, b in zip(actioned, benign)) / max(sum(benign), 1)
    youth = [r.is_recruitment and r.youth_targeting for r in records]
    overall["youth_recall"] = sum(a and y for a, y in zip(actioned, youth)) / max(sum(youth), 1)
    overall["youth_posts"] = sum(youth)
    report.overall = overall
    for lang in sorted({r.lang for r in records}):
        idx = [i for i, r in enumerate(records) if r.lang == lang]
        sub = [records[i] for i in idx]
        fig = _figures([actioned[i] for i in idx], sub)
        fig["benign_actioned"] = sum(actioned[i] and not records[i].is_recruitment for i in idx) / max(
            sum(not r.is_recruitment for r in sub), 1)
        report.per_language[lang] = fig
    report.actions = dict(Counter(d.action for d in decisions))
    if baseline is not None:
        old = decide_all(baseline, scored)
        changes = [(r, o, d) for r, o, d in zip(records, old, decisions) if (o.action, o.rule) != (d.action, d.rule)]
        report.diff = {
            "against": f"{baseline.name}@{baseline.version}",
            "changed": len(changes),
            "action_changed": sum(o.action != d.action for _, o, d in changes),
            "transitions": dict(Counter(f"{o.action} → {d.action}" for _, o, d in changes if o.action != d.action)),
            "posts": [{"id": r.id, "lang": r.lang, "label": r.label, "before": f"{o.action} ({o.rule or 'default'})",
                       "after": f"{d.action} ({d.rule or 'default'})", "text": r.text[:160]}
                      for r, o, d in changes[:max_diff_rows]],
        }
    return report
