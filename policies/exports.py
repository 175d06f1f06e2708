"""Export a policy to the formats platforms' own moderation systems read.

Every exporter returns the text and the list of what it could not express (score
conditions, combinations a keyword list cannot say), so nobody ships a weaker rule
without knowing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

import yaml

from detector.signals import PATTERN_DIR, SIGNAL_TYPES, load_patterns

from .loader import dump_policy
from .schema import Policy, Rule

FORMATS = ("json", "spacy", "automod", "discord", "csv", "markdown")

# Discord AutoMod limits for one keyword rule (trigger_type 1).
DISCORD_MAX_KEYWORDS = 1000
DISCORD_KEYWORD_LEN = 60
DISCORD_MAX_REGEX = 10
DISCORD_REGEX_LEN = 260
DISCORD_MAX_ALLOW = 100
DISCORD_NAME_LEN = 100
DISCORD_MAX_KEYWORD_RULES = 6


class ExportError(ValueError):
    """The policy cannot be expressed in the format; the message says which rule and why."""


@dataclass
class Export:
    format: str
    text: str
    dropped: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # extra outputs, e.g. one file per Discord rule


def _signal_entries() -> list[dict]:
    return [e for p in sorted(PATTERN_DIR.glob("*.jsonl")) for e in load_patterns(p)]


def _token_regex(tok: dict) -> str | None:
    """One spaCy token pattern as a text regex, or None for attributes text cannot express."""
    op = tok.get("OP")
    core = None
    for key in ("LOWER", "ORTH", "TEXT", "NORM"):
        if key in tok:
            v = tok[key]
            if isinstance(v, str):
                core = re.escape(v)
            elif isinstance(v, dict) and "IN" in v:
                core = "(?:" + "|".join(re.escape(x) for x in sorted(v["IN"], key=len, reverse=True)) + ")"
            elif isinstance(v, dict) and "REGEX" in v:
                core = "(?:" + re.sub(r"^\(\?i\)", "", v["REGEX"]).lstrip("^").rstrip("$") + ")"
            else:
                return None
    if core is None and tok.get("LIKE_NUM"):
        core = r"\d+(?:[.,]\d+)?"
    if core is None or set(tok) - {"LOWER", "ORTH", "TEXT", "NORM", "LIKE_NUM", "OP"}:
        return None
    if op in ("?", "*", "+"):
        return f"(?:{core}\\s*){op}"
    return core + r"\s*"


def pattern_regex(entry: dict) -> str | None:
    """A signal pattern as a case-insensitive text regex (for regex-capable exports)."""
    if "phrase" in entry:
        return re.escape(entry["phrase"])
    parts = [_token_regex(t) for t in entry["tokens"]]
    if any(p is None for p in parts):
        return None
    rx = "".join(parts)
    return rx[: -len(r"\s*")] if rx.endswith(r"\s*") else rx


def pattern_keywords(entry: dict, limit: int = 40) -> list[str] | None:
    """Plain keywords a pattern stands for (phrases, and token patterns of fixed words), or None."""
    if "phrase" in entry:
        return [entry["phrase"]]
    words: list[list[str]] = []
    for t in entry["tokens"]:
        if t.get("OP") or set(t) - {"LOWER", "ORTH", "TEXT"}:
            return None
        v = next(iter(t.values()))
        if isinstance(v, str):
            words.append([v.lower()])
        elif isinstance(v, dict) and set(v) == {"IN"}:
            words.append([x.lower() for x in v["IN"]])
        else:
            return None
    out = [""]
    for alts in words:
        out = [f"{a} {b}".strip() for a in out for b in alts]
        if len(out) > limit:
            return None
    return out


def _phrases_for(names: list[str]) -> tuple[list[str], list[dict]]:
    """Keywords of the signals named (types or ids), and the entries that have no keyword form."""
    phrases, rest = [], []
    for e in _signal_entries():
        if e["type"] in names or e["id"] in names:
            kws = pattern_keywords(e)
            if kws is None:
                rest.append(e)
            else:
                phrases += kws
    return sorted(set(phrases)), rest


def _regexes_for(names: list[str]) -> tuple[list[str], list[str]]:
    """Text regexes of the signals named, and the ids that cannot be written as one."""
    out, lost = [], []
    for e in _signal_entries():
        if e["type"] in names or e["id"] in names:
            rx = pattern_regex(e)
            (out.append(rx) if rx else lost.append(e["id"]))
    return sorted(set(out)), sorted(set(lost))


def _score_conditions(rule: Rule) -> list[str]:
    w = rule.when
    out = []
    for name in ("recruitment", "youth"):
        if getattr(w, name):
            out.append(f"{name} {getattr(w, name).model_dump(exclude_none=True)}")
    if w.flagged is not None:
        out.append(f"flagged={w.flagged}")
    if w.categories_any:
        out.append(f"categories_any {w.categories_any}")
    if w.categories_all:
        out.append(f"categories_all {w.categories_all}")
    return out


def _acting(policy: Policy) -> list[Rule]:
    return [r for r in policy.rules if r.state == "live" and r.action != "allow"]


# --- json -------------------------------------------------------------------------------


def export_json(policy: Policy, figures: dict | None = None) -> Export:
    body = dump_policy(policy)
    if figures is not None:
        body["measured"] = figures
    return Export("json", json.dumps(body, indent=2, ensure_ascii=False) + "\n")


# --- spaCy ------------------------------------------------------------------------------


def export_spacy(policy: Policy) -> Export:
    """EntityRuler/SpanRuler patterns (JSON Lines): label = rule id, so matches name their rule."""
    lines, dropped = [], []
    for rule in _acting(policy):
        w = rule.when
        label = rule.id.upper().replace("-", "_").replace(".", "_")
        for k in (w.text.keywords if w.text else []):
            lines.append({"label": label, "pattern": k, "id": f"{rule.id}:keyword"})
        for r in (w.text.regex if w.text else []):
            lines.append({"label": label, "pattern": [{"LOWER": {"REGEX": r}}], "id": f"{rule.id}:regex"})
            dropped.append(f"{rule.id}: regex /{r}/ exported as a single-token pattern (spaCy matches tokens)")
        if w.signals:
            names = w.signals.any_of + w.signals.all_of
            for e in _signal_entries():
                if e["type"] in names or e["id"] in names:
                    lines.append({"label": label, "pattern": e.get("phrase") or e["tokens"], "id": e["id"]})
            if w.signals.all_of or w.signals.min_types or w.signals.min_count or w.signals.none_of:
                dropped.append(f"{rule.id}: signal combinations (all_of/min_types/min_count/none_of) need the "
                               "recruitwatch engine; patterns mark each cue only")
        for s in _score_conditions(rule):
            dropped.append(f"{rule.id}: score condition {s} (needs the recruitwatch model)")
        if w.lang:
            dropped.append(f"{rule.id}: language condition {w.lang.model_dump(by_alias=True)}")
    text = "".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines)
    return Export("spacy", text, dropped)


# --- Reddit AutoModerator ---------------------------------------------------------------

_AUTOMOD_ACTION = {"label": "report", "review": "filter", "escalate": "filter", "remove": "remove"}


def _alternation(words: list[str]) -> str:
    return "(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


def export_automod(policy: Policy) -> Export:
    docs, dropped = [], []
    header = [f"# recruitwatch policy {policy.name} {policy.version} ({policy.owner})",
              "# Exported for Reddit AutoModerator. Conditions on model scores cannot be expressed here",
              "# and were dropped; see the list at the end of this file."]
    for rule in _acting(policy):
        w = rule.when
        doc: dict = {}
        checks = []  # lookahead pieces: every piece must appear somewhere (AND)
        words: list[str] = []
        if w.signals:
            groups = [[n] for n in w.signals.all_of]
            if w.signals.any_of:
                groups.append(w.signals.any_of)
            for g in groups:
                regexes, lost = _regexes_for(g)
                if lost:
                    dropped.append(f"{rule.id}: patterns {lost[:5]}{'…' if len(lost) > 5 else ''} cannot be written as a regex")
                if not regexes:
                    dropped.append(f"{rule.id}: no pattern of {g} can be expressed; the rule would match too much")
                    checks = None
                    break
                checks.append("(?:" + "|".join(regexes) + ")")
            if checks is None:
                continue
            if w.signals.min_types or w.signals.min_count:
                dropped.append(f"{rule.id}: min_types/min_count of signals")
            if w.signals.none_of:
                regexes, _ = _regexes_for(w.signals.none_of)
                if regexes:
                    doc["~title+body (regex)"] = ["(?:" + "|".join(regexes) + ")"]
        if w.text:
            words = list(w.text.keywords)
            if w.text.regex:
                checks.append("(" + "|".join(w.text.regex) + ")")
            if w.text.exclude_keywords:
                doc.setdefault("~title+body (includes-word)", [])
                doc["~title+body (includes-word)"] += list(w.text.exclude_keywords)
            if w.text.exclude_regex:
                doc["~title+body (regex)"] = list(w.text.exclude_regex)
        if words:
            doc["title+body (includes-word)"] = words
        if checks:
            doc["title+body (regex, includes)"] = ["(?i)" + "".join(f"(?=[\\s\\S]*{c})" for c in checks)]
        for s in _score_conditions(rule):
            dropped.append(f"{rule.id}: score condition {s}")
        if w.lang:
            dropped.append(f"{rule.id}: language condition")
        if not (words or checks):
            dropped.append(f"{rule.id}: nothing left to match without the model; rule not exported")
            continue
        doc["action"] = _AUTOMOD_ACTION[rule.action]
        doc["action_reason"] = f"[{rule.id}] {rule.reason}"
        if rule.action == "label":
            doc["report_reason"] = f"recruitwatch: {rule.reason}"[:100]
        if rule.action == "escalate":
            doc["modmail"] = f"recruitwatch rule {rule.id} escalated {{{{permalink}}}}: {rule.reason}"
        docs.append((rule, doc))
    parts = ["\n".join(header)]
    for rule, doc in docs:
        parts.append(f"# {rule.id}: {rule.description}\n" + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000))
    tail = "\n".join(f"# dropped: {d}" for d in dropped)
    text = "\n---\n".join(parts) + ("\n" + tail + "\n" if tail else "")
    return Export("automod", text, dropped)


# --- Discord AutoMod --------------------------------------------------------------------

_DISCORD_ACTIONS = {
    "label": [{"type": 2, "metadata": {"channel_id": "<ALERT_CHANNEL_ID>"}}],
    "review": [{"type": 2, "metadata": {"channel_id": "<ALERT_CHANNEL_ID>"}}],
    "escalate": [{"type": 2, "metadata": {"channel_id": "<ESCALATION_CHANNEL_ID>"}}],
    "remove": [{"type": 1, "metadata": {"custom_message": ""}}, {"type": 2, "metadata": {"channel_id": "<ALERT_CHANNEL_ID>"}}],
}


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def export_discord(policy: Policy) -> Export:
    """Keyword rules (trigger_type 1) that respect every Discord limit, split when a list is too long."""
    rules, dropped = [], []
    for rule in _acting(policy):
        w = rule.when
        keywords: list[str] = list(w.text.keywords) if w.text else []
        regexes: list[str] = list(w.text.regex) if w.text else []
        allow = list(w.text.exclude_keywords) if w.text else []
        if w.signals:
            names = w.signals.any_of + w.signals.all_of
            phrases, rest = _phrases_for(names)
            keywords += phrases
            if rest:
                ids = sorted({e["id"] for e in rest})
                dropped.append(f"{rule.id}: {len(ids)} patterns with inflections or regexes have no keyword form "
                               f"({', '.join(ids[:5])}{'…' if len(ids) > 5 else ''})")
            if w.signals.all_of or w.signals.min_types or w.signals.min_count:
                dropped.append(f"{rule.id}: Discord matches ANY keyword; the rule's signal combination "
                               "(all_of/min_types/min_count) was loosened to any cue")
            if w.signals.none_of:
                dropped.append(f"{rule.id}: none_of signals")
        if w.text and w.text.exclude_regex:
            dropped.append(f"{rule.id}: exclude_regex (Discord's allow list takes keywords only)")
        for s in _score_conditions(rule):
            dropped.append(f"{rule.id}: score condition {s}")
        if w.lang:
            dropped.append(f"{rule.id}: language condition")
        keywords = sorted(set(keywords))
        too_long = [k for k in keywords if len(k) > DISCORD_KEYWORD_LEN]
        if too_long:
            raise ExportError(f"rule {rule.id}: keyword {too_long[0]!r} has {len(too_long[0])} characters; "
                              f"Discord allows {DISCORD_KEYWORD_LEN}")
        bad_rx = [r for r in regexes if len(r) > DISCORD_REGEX_LEN]
        if bad_rx:
            raise ExportError(f"rule {rule.id}: regex {bad_rx[0][:40]!r}… has {len(bad_rx[0])} characters; "
                              f"Discord allows {DISCORD_REGEX_LEN}")
        if len(allow) > DISCORD_MAX_ALLOW or any(len(a) > DISCORD_KEYWORD_LEN for a in allow):
            raise ExportError(f"rule {rule.id}: allow list of {len(allow)} entries; Discord allows {DISCORD_MAX_ALLOW} "
                              f"of at most {DISCORD_KEYWORD_LEN} characters")
        if not keywords and not regexes:
            dropped.append(f"{rule.id}: nothing left to match without the model; rule not exported")
            continue
        kw_parts, rx_parts = _chunks(keywords, DISCORD_MAX_KEYWORDS), _chunks(regexes, DISCORD_MAX_REGEX)
        n = max(len(kw_parts), len(rx_parts))
        for i in range(n):
            suffix = f" ({i + 1}/{n})" if n > 1 else ""
            name = f"recruitwatch {rule.id}{suffix}"
            if len(name) > DISCORD_NAME_LEN:
                name = name[: DISCORD_NAME_LEN - len(suffix)] + suffix
            actions = json.loads(json.dumps(_DISCORD_ACTIONS[rule.action]))
            for a in actions:
                if a["type"] == 1:
                    a["metadata"]["custom_message"] = rule.reason[:150]
            rules.append({
                "name": name,
                "event_type": 1,
                "trigger_type": 1,
                "trigger_metadata": {
                    "keyword_filter": kw_parts[i] if i < len(kw_parts) else [],
                    "regex_patterns": rx_parts[i] if i < len(rx_parts) else [],
                    "allow_list": allow,
                },
                "actions": actions,
                "enabled": True,
            })
    if len(rules) > DISCORD_MAX_KEYWORD_RULES:
        dropped.append(f"{len(rules)} keyword rules: Discord allows {DISCORD_MAX_KEYWORD_RULES} per server; "
                       "create the most important ones first")
    return Export("discord", json.dumps(rules, indent=2, ensure_ascii=False) + "\n", dropped)


# --- people -----------------------------------------------------------------------------


def _conditions_text(rule: Rule) -> str:
    w = rule.when
    parts = _score_conditions(rule)
    if w.signals:
        parts.append("signals " + json.dumps(w.signals.model_dump(exclude_defaults=True), ensure_ascii=False))
    if w.lang:
        parts.append("lang " + json.dumps(w.lang.model_dump(by_alias=True, exclude_defaults=True)))
    if w.text:
        parts.append("text " + json.dumps(w.text.model_dump(exclude_defaults=True), ensure_ascii=False))
    return "; ".join(parts) or "every post"


def export_csv(policy: Policy) -> Export:
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["order", "id", "state", "action", "conditions", "reason", "description"])
    for i, r in enumerate(policy.rules, 1):
        out.writerow([i, r.id, r.state, r.action, _conditions_text(r), r.reason, r.description])
    return Export("csv", buf.getvalue())


def export_markdown(policy: Policy, figures: dict | None = None) -> Export:
    lines = [f"# Policy: {policy.name} (version {policy.version})", "", f"Owner: {policy.owner}", "",
             policy.description.strip(), "",
             "Rules are read from top to bottom; the first **live** rule that matches decides. "
             "**Shadow** rules are checked and reported but never act.", "",
             "| # | rule | state | action | when | reason shown to reviewers |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(policy.rules, 1):
        lines.append(f"| {i} | `{r.id}` | {r.state} | **{r.action}** | {_conditions_text(r)} | {r.reason} |")
    lines += ["", f"If no live rule matches: **{policy.default_action}** ({policy.default_reason})", ""]
    if figures:
        o = figures.get("overall", {})
        lines += ["## Measured", "", f"On {figures.get('posts')} labelled posts: precision {o.get('precision')}, "
                  f"recall {o.get('recall')}, volume {o.get('volume')}, benign actioned {o.get('benign_actioned')}, "
                  f"youth recall {o.get('youth_recall')}.", ""]
    lines += ["Signal types: " + "; ".join(f"**{k}**: {v}" for k, v in SIGNAL_TYPES.items()) + ".", ""]
    return Export("markdown", "\n".join(lines))


def export(policy: Policy, fmt: str, figures: dict | None = None) -> Export:
    if fmt == "json":
        return export_json(policy, figures)
    if fmt == "markdown":
        return export_markdown(policy, figures)
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return {"spacy": export_spacy, "automod": export_automod, "discord": export_discord, "csv": export_csv}[fmt](policy)
