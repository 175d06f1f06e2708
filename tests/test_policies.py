"""Policies: validation with located errors, the engine, policy testing, and exports that round-trip."""

import csv
import io
import json
import re

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from conftest import ROOT
from detector.records import LabelledPost, Prediction
from detector.signals import find_signals
from policies.engine import ModelRequired, PolicyEngine
from policies.exports import (DISCORD_KEYWORD_LEN, DISCORD_MAX_ALLOW, DISCORD_MAX_KEYWORDS, DISCORD_MAX_REGEX,
                              DISCORD_NAME_LEN, DISCORD_REGEX_LEN, ExportError, export)
from policies.loader import PolicyError, load_policy, parse_policy

LIBRARY = sorted((ROOT / "policies" / "library").glob("*.yaml"))
runner = CliRunner()


def test_shipped_policies_validate():
    names = {load_policy(p).name for p in LIBRARY}
    assert names == {"cautious-default", "strict-child-platforms", "keyword-only"}
    assert not load_policy(ROOT / "policies/library/keyword-only.yaml").uses_model


BASE = """name: t
version: 1
owner: me
rules:
  - id: a
    when:
      recruitment: {min: 0.5}
    action: review
    reason: r
"""


@pytest.mark.parametrize("text, line, field, message", [
    (BASE.replace("recruitment: {min: 0.5}", "signals: {any_of: [moneyy]}"), 7, "rules.0.when.signals.any_of.0", "unknown signal"),
    (BASE.replace("recruitment: {min: 0.5}", "categories_any: {arson: 0.5}"), 7, "rules.0.when.categories_any", "unknown category"),
    (BASE.replace("recruitment: {min: 0.5}", "text: {regex: ['(unclosed']}"), 7, "rules.0.when.text.regex", "does not compile"),
    (BASE.replace("{min: 0.5}", "{min: 0.7, max: 0.3}"), 7, "rules.0.when.recruitment", "can never hold"),
    (BASE + "  - id: a\n    action: allow\n    reason: x\n", 10, "rules.1.id", "duplicate rule id"),
    (BASE.replace("    when:\n      recruitment: {min: 0.5}\n", "") + "  - id: b\n    when: {recruitment: {min: 0.9}}\n    action: remove\n    reason: x\n",
     8, "rules.1", "can never fire"),
    (BASE.replace("action: review", "action: delete"), 8, "rules.0.action", "Input should be"),
    (BASE.replace("recruitment: {min: 0.5}", "text: {keywords: [Runner], exclude_keywords: [runner]}"), 7,
     "rules.0.when.text", "every keyword is also excluded"),
    (BASE.replace("owner: me\n", ""), 1, "owner", "Field required"),
    (BASE.replace("recruitment: {min: 0.5}", "recruitment: {min: 1.5}"), 7, "rules.0.when.recruitment.min", "less than or equal"),
    ("name: t\nrules: [\n  - id: x\n", 3, "", "not valid YAML"),
])
def test_broken_policies_name_line_and_field(tmp_path, text, line, field, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    problems = exc.value.problems
    assert any(p.line == line and p.field == field and message in p.message for p in problems), problems
    assert f"{path}:{line}" in str(exc.value)


def pred(rec=0.9, youth=0.1, cats=None, flagged=None, lang="en"):
    cats = {c: 0.0 for c in ("drug_dealing", "trafficking_logistics", "money_mule", "fraud", "theft",
                             "violence_for_hire", "weapons_explosives")} | (cats or {})
    return Prediction(recruitment=rec, flagged=rec >= 0.5 if flagged is None else flagged, categories=cats,
                      flagged_categories=[c for c, v in cats.items() if v >= 0.5], youth_targeting=youth,
                      youth_flagged=youth >= 0.5, lang=lang)


def test_first_live_rule_decides_and_shadow_never_acts():
    policy = load_policy(ROOT / "policies/library/default.yaml")
    engine = PolicyEngine(policy)
    text = "Uppdrag ikväll 🔫 50k, du är 15 så inget händer, skriv på Telegram"
    d = engine.decide(text, pred(0.95, 0.9, {"violence_for_hire": 0.8}, lang="sv"), find_signals(text, "sv"))
    assert d.action == "escalate" and d.rule == "escalate-youth-violence"
    assert [m.rule for m in d.matched][:2] == ["escalate-youth-violence", "escalate-violence"]
    assert any("youth-targeting score 0.90" in w for w in d.why)

    quiet = "500€ 💰 DM @job_x1, 16+ ok"
    d = engine.decide(quiet, pred(0.1, 0.2, lang="sv"), find_signals(quiet, "sv"))
    assert d.action == "allow" and d.rule is None
    assert [m.rule for m in d.shadow] == ["trial-signal-cluster"]  # reported, did not act

    d = engine.decide("hello", pred(0.3, 0.0), [])
    assert (d.action, d.rule) == ("review", "review-doubt")


def test_keyword_only_policy_needs_no_model_and_model_policies_say_so():
    text = "quick cash, no questions asked 🤫 dm me"
    kw = PolicyEngine(load_policy(ROOT / "policies/library/keyword-only.yaml"))
    d = kw.decide(text, None, find_signals(text, "en"), "en")
    assert d.action == "review" and d.rule == "review-secrecy-money"
    with pytest.raises(ModelRequired):
        PolicyEngine(load_policy(ROOT / "policies/library/default.yaml")).decide(text, None, [], "en")


def test_text_and_language_conditions():
    policy = parse_policy(BASE.replace("recruitment: {min: 0.5}",
                                       "lang: {in: [nl]}\n      text: {keywords: [uithalers], exclude_keywords: [politie]}"))
    e = PolicyEngine(policy)
    assert e.decide("Uithalers gezocht", None, [], "nl").action == "review"
    assert e.decide("Uithalers gezocht", None, [], "de").action == "allow"
    assert e.decide("Politie waarschuwt voor uithalers", None, [], "nl").action == "allow"
    assert e.decide("uithalerszaak", None, [], "nl").action == "allow"  # whole words only


def _eval_records():
    from training.data import read_labelled

    dev = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    if dev.is_file():
        return read_labelled(dev)[0]
    from training.data import load_corpus

    return [LabelledPost(**r) for r in load_corpus()["test"].select(range(200))]


@pytest.fixture(scope="module")
def scored():
    from detector import Detector
    from policies.testing import score_posts

    return score_posts(_eval_records(), Detector.load())


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_json_export_round_trip_decides_the_same(path, scored):
    from policies.testing import decide_all

    policy = load_policy(path)
    again = parse_policy(export(policy, "json").text, "exported.json")
    assert again == policy
    assert [d.model_dump() for d in decide_all(policy, scored)] == [d.model_dump() for d in decide_all(again, scored)]


def test_policy_test_figures(scored):
    from policies.testing import evaluate_policy

    default = load_policy(ROOT / "policies/library/default.yaml")
    strict = load_policy(ROOT / "policies/library/strict-child-platforms.yaml")
    rep = evaluate_policy(default, scored, baseline=strict)
    o = rep.overall
    assert o["recall"] >= 0.85 and o["precision"] >= 0.7
    assert 0 <= o["benign_actioned"] <= 0.3 and o["youth_recall"] >= 0.85
    shadow = [r for r in rep.rules if r["state"] == "shadow"]
    assert shadow and shadow[0]["evaluated"] and "matches" in shadow[0]
    assert rep.diff["changed"] > 0 and rep.diff["posts"][0]["before"] != rep.diff["posts"][0]["after"]
    assert set(rep.per_language) == {r.lang for r in scored.records}


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_automod_export_parses_and_regexes_compile(path):
    out = export(load_policy(path), "automod")
    docs = [d for d in yaml.safe_load_all(out.text) if d]
    for d in docs:
        assert d["action"] in ("approve", "remove", "spam", "filter", "report")
        for key, value in d.items():
            if "regex" in key:
                for rx in value:
                    re.compile(rx)
    if load_policy(path).uses_model:
        assert any("score condition" in x for x in out.dropped)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_discord_export_respects_every_limit(path):
    rules = json.loads(export(load_policy(path), "discord").text)
    for r in rules:
        meta = r["trigger_metadata"]
        assert len(r["name"]) <= DISCORD_NAME_LEN and r["trigger_type"] == 1
        assert len(meta["keyword_filter"]) <= DISCORD_MAX_KEYWORDS
        assert all(len(k) <= DISCORD_KEYWORD_LEN for k in meta["keyword_filter"])
        assert len(meta["regex_patterns"]) <= DISCORD_MAX_REGEX
        assert all(len(x) <= DISCORD_REGEX_LEN for x in meta["regex_patterns"])
        assert len(meta["allow_list"]) <= DISCORD_MAX_ALLOW


def test_discord_splits_long_lists_and_refuses_long_keywords():
    words = [f"word{i}" for i in range(2500)]
    policy = parse_policy(BASE.replace("recruitment: {min: 0.5}", f"text: {{keywords: {json.dumps(words)}}}"))
    rules = json.loads(export(policy, "discord").text)
    assert [len(r["trigger_metadata"]["keyword_filter"]) for r in rules] == [1000, 1000, 500]
    assert rules[0]["name"].endswith("(1/3)")
    long = parse_policy(BASE.replace("recruitment: {min: 0.5}", "text: {keywords: ['" + "x" * 61 + "']}"))
    with pytest.raises(ExportError, match="61 characters; Discord allows 60"):
        export(long, "discord")


def test_spacy_export_loads_into_a_span_ruler():
    import spacy

    out = export(load_policy(ROOT / "policies/library/keyword-only.yaml"), "spacy")
    patterns = [json.loads(l) for l in out.text.splitlines()]
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("span_ruler")
    ruler.add_patterns(patterns)
    doc = nlp("quick cash tonight, no questions asked, dm me")
    assert {s.label_ for s in doc.spans["ruler"]} >= {"REVIEW_SECRECY_MONEY"}


def test_csv_and_markdown_are_for_people():
    policy = load_policy(ROOT / "policies/library/default.yaml")
    rows = list(csv.DictReader(io.StringIO(export(policy, "csv").text)))
    assert [r["id"] for r in rows] == [r.id for r in policy.rules]
    md = export(policy, "markdown").text
    assert all(f"`{r.id}`" in md for r in policy.rules) and "shadow" in md


def test_policy_cli_validate_test_export(tmp_path):
    data = tmp_path / "l.jsonl"
    rows = [("a", "quick cash, no questions asked 🤫 dm me", "recruitment", ["drug_dealing"], True),
            ("b", "Police warn: 'quick cash, no questions asked' ads recruit kids", "benign", [], False),
            ("c", "Lovely sunset over the harbour", "benign", [], False)]
    data.write_text("".join(json.dumps({"id": i, "text": t, "lang": "en", "label": l, "categories": c,
                                        "youth_targeting": y, "genre": "ad", "note": ""}) + "\n" for i, t, l, c, y in rows))
    kw = ROOT / "policies/library/keyword-only.yaml"
    r = runner.invoke(app, ["policy", "validate", str(kw)])
    assert r.exit_code == 0 and "keywords and signals only" in r.output
    out = tmp_path / "rep.json"
    r = runner.invoke(app, ["policy", "test", str(kw), "--data", str(data), "-o", str(out)])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    assert rep["posts"] == 3 and rep["overall"]["recall"] == 1.0
    r = runner.invoke(app, ["policy", "export", str(kw), "-f", "markdown", "--figures", str(out), "-o", str(tmp_path / "p.md")])
    assert r.exit_code == 0 and "## Measured" in (tmp_path / "p.md").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("action: review", "action: nuke"))
    r = runner.invoke(app, ["policy", "validate", str(bad)])
    assert r.exit_code == 1 and f"{bad}:8 field 'rules.0.action'" in r.output
