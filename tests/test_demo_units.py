"""The demo's pure functions (no model, no server): knobs, thresholds, batch parsing, segments."""

import json

import pytest

from demo.about import documents, front_matter_as_code
from demo.batch import filter_results, parse_posts, write_csv
from demo.policy_lab import export_file, knobs, policy_yaml, with_thresholds
from demo.services import MAX_ROWS, InputError, check_text, shipped_policies
from demo.try_post import signal_segments
from detector.signals import Signal
from policies.loader import load_policy, parse_policy


@pytest.fixture
def default():
    return load_policy(shipped_policies()["default"])


def test_shipped_policies_default_first():
    names = list(shipped_policies())
    assert names[0] == "default" and {"strict-child-platforms", "keyword-only"} <= set(names)


def test_knobs_cover_every_numeric_threshold_of_evaluated_rules(default):
    ks = {k.key: k.value for k in knobs(default)}
    assert ks == {
        "escalate-youth-violence:recruitment.min": 0.5, "escalate-youth-violence:youth.min": 0.5,
        "escalate-youth-violence:categories_any.violence_for_hire": 0.4,
        "escalate-youth-violence:categories_any.weapons_explosives": 0.4,
        "escalate-violence:recruitment.min": 0.8, "escalate-violence:categories_any.violence_for_hire": 0.5,
        "escalate-violence:categories_any.weapons_explosives": 0.5, "review-youth-recruitment:youth.min": 0.5,
        "review-doubt:recruitment.min": 0.25, "trial-signal-cluster:recruitment.max": 0.25}
    assert knobs(load_policy(shipped_policies()["keyword-only"])) == []


def test_with_thresholds_changes_only_what_moved_and_round_trips(default):
    moved = with_thresholds(default, {"review-doubt:recruitment.min": 0.4,
                                      "escalate-violence:categories_any.weapons_explosives": 0.7})
    rules = {r.id: r for r in moved.rules}
    assert rules["review-doubt"].when.recruitment.min == 0.4
    assert rules["escalate-violence"].when.categories_any == {"violence_for_hire": 0.5, "weapons_explosives": 0.7}
    assert rules["escalate-youth-violence"] == {r.id: r for r in default.rules}["escalate-youth-violence"]
    assert parse_policy(policy_yaml(moved)) == moved  # the saved YAML is a valid policy file
    with pytest.raises(InputError, match="unknown thresholds"):
        with_thresholds(default, {"nope:youth.min": 0.1})
    with pytest.raises(InputError, match="invalid policy"):
        with_thresholds(default, {"review-doubt:recruitment.min": 2})


def test_export_file_writes_the_format(default, tmp_path):
    path, note = export_file(default, "csv", str(tmp_path))
    assert path.endswith(".csv") and "review-doubt" in open(path, encoding="utf-8").read()
    path, note = export_file(default, "automod", str(tmp_path))
    assert "Not expressed" in note


def test_parse_posts_keeps_every_row_as_result_or_error():
    data = "\n".join([json.dumps({"id": "a", "text": "hi there"}), "", "[1, 2]", "{bad",
                      json.dumps({"text": "no id"}), json.dumps({"id": "e", "text": ""})]).encode()
    posts, errors = parse_posts(data, "x.jsonl")
    assert [(p["line"], p["id"]) for p in posts] == [(1, "a"), (5, "line-5")]
    assert [(e["line"], e["reason"].split()[0]) for e in errors] == [(3, "expected"), (4, "bad"), (6, "no")]
    posts, errors = parse_posts(b"id,text\n1,hello\n2,\n", "x.csv")
    assert [p["id"] for p in posts] == ["1"] and errors == [{"line": 3, "reason": "no text (the 'text' field is missing or empty)"}]
    with pytest.raises(InputError, match="'text' column"):
        parse_posts(b"body\nx\n", "x.csv")
    with pytest.raises(InputError, match="at most"):
        parse_posts(("text\n" + "x\n" * (MAX_ROWS + 1)).encode(), "x.csv")
    with pytest.raises(InputError, match="not UTF-8"):
        parse_posts(b"text\n\xff\xfe\n", "x.csv")
    with pytest.raises(InputError, match=".csv or .jsonl"):
        parse_posts(b"", "x.xlsx")


def test_filters_and_csv(tmp_path):
    rows = [{"line": 2, "id": "a", "lang": "en", "recruitment": 0.9, "band": "", "categories": "", "youth_targeting": 0.1,
             "action": "review", "rule": "r", "reason": "", "signals": "", "text": "Easy money"},
            {"line": 3, "id": "b", "lang": "en", "recruitment": 0.1, "band": "", "categories": "", "youth_targeting": 0.1,
             "action": "allow", "rule": "(default)", "reason": "", "signals": "", "text": "Apple pie"}]
    assert [r["id"] for r in filter_results(rows, ["review"])] == ["a"]
    assert [r["id"] for r in filter_results(rows, [], 0.5)] == ["a"]
    assert [r["id"] for r in filter_results(rows, None, 0, "apple")] == ["b"]
    assert open(write_csv(rows, str(tmp_path)), encoding="utf-8").read().startswith("line,id,lang,recruitment")


def test_check_text_limits():
    assert check_text("hello") == "hello"
    with pytest.raises(InputError):
        check_text(" ")
    with pytest.raises(InputError, match="5,000"):
        check_text("x" * 5001)


def test_signal_segments_cover_the_text_without_overlaps():
    text = "easy money now, DM me"
    sigs = [Signal("m1", "money", "easy money", 0, 10, "en"), Signal("m2", "money", "money", 5, 10, "en"),
            Signal("c1", "contact", "DM", 16, 18, "en")]
    segs = signal_segments(text, sigs)
    assert "".join(s for s, _ in segs) == text
    assert [s for s in segs if s[1]] == [("easy money", "money"), ("DM", "contact")]


def test_about_renders_card_and_datasheet():
    docs = documents()
    card, images = docs["Model card"]
    assert card.startswith("```yaml") and "recruitwatch-base" in card and "![" not in card
    assert images and all(p.is_file() for p, _ in images)
    assert "Datasheet" in docs["Datasheet"][0]
    assert front_matter_as_code("no front matter") == "no front matter"
