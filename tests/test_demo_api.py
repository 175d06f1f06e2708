"""The demo's named API endpoints, called with gradio_client against a real local server."""

import csv
import json

import pytest

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from demo.examples import EXAMPLES, languages  # noqa: E402
from test_demo_helpers import SAMPLE, demo_server  # noqa: E402

RECRUIT = "Need drivers tonight, easy money 💰 16+ ok, DM @fake_handle_123, no questions asked"
WARNING = next(e.text for e in EXAMPLES if e.text.startswith("Police warning"))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app, url = demo_server()
    assert url.startswith("http://127.0.0.1:")
    return Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def test_examples_cover_eight_languages_and_hard_negatives():
    assert len(languages()) >= 8
    kinds = {e.kind for e in EXAMPLES}
    assert kinds == {"recruitment", "hard negative"}
    assert sum(e.kind == "hard negative" for e in EXAMPLES) >= 4


def test_api_lists_named_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/analyse", "/analyse_json", "/lab_knobs", "/lab_evaluate", "/lab_export", "/batch"} <= names


def test_analyse_json_recruitment_and_hard_negative(client):
    r = client.predict(RECRUIT, "default", api_name="/analyse_json")
    assert r["recruitment"] > 0.8 and r["band"] == "likely recruitment" and r["lang"] == "en"
    assert r["decision"]["action"] == "review" and r["decision"]["rule"] == "review-youth-recruitment"
    assert r["decision"]["why"] and r["decision"]["reason"]
    types = {s["type"] for s in r["signals"]}
    assert {"money", "contact", "secrecy", "age_school"} <= types
    assert all(RECRUIT[s["start"]:s["end"]] == s["text"] for s in r["signals"])
    assert r["words"] and all(RECRUIT[w["start"]:w["end"]] == w["word"] for w in r["words"])
    assert r["top_up"] and set(r["categories"]) == {"drug_dealing", "trafficking_logistics", "money_mule", "fraud",
                                                      "theft", "violence_for_hire", "weapons_explosives"}
    neg = client.predict(WARNING, "default", api_name="/analyse_json")
    assert neg["decision"]["action"] == "allow" and neg["recruitment"] < 0.2


def test_analyse_returns_what_the_tab_shows(client):
    score, decision, signals, words, table, cats = client.predict(RECRUIT, "strict-child-platforms", api_name="/analyse")
    assert "Recruitment score" in score and "likely recruitment" in score
    assert "Decision" in decision and "strict" in decision
    assert {"token": "easy money", "class_or_confidence": "money"} in signals
    assert "".join(t["token"] for t in signals) == RECRUIT
    assert "".join(t["token"] for t in words) == RECRUIT
    assert any(isinstance(t["class_or_confidence"], float) for t in words)
    assert table["headers"][:2] == ["direction", "word"] and table["data"]
    assert cats is not None


def test_input_limits_give_clear_errors(client):
    with pytest.raises(AppError, match="Type or paste a post"):
        client.predict("   ", "default", api_name="/analyse_json")
    with pytest.raises(AppError, match="at most 5,000"):
        client.predict("x " * 3000, "default", api_name="/analyse_json")
    with pytest.raises(AppError, match="Unknown policy"):
        client.predict(RECRUIT, "no-such-policy", api_name="/analyse_json")


def test_lab_knobs_and_evaluate_follow_the_thresholds(client):
    knobs = client.predict("default", api_name="/lab_knobs")
    keys = {k["key"]: k["value"] for k in knobs}
    assert keys["review-youth-recruitment:youth.min"] == 0.5
    assert keys["escalate-youth-violence:categories_any.violence_for_hire"] == 0.4
    base = client.predict("default", "{}", SAMPLE, api_name="/lab_evaluate")
    assert base["posts"] == SAMPLE and base["diff"]["changed"] == 0
    assert {r["id"] for r in base["rules"]} >= {"review-doubt", "trial-signal-cluster"}
    moved = client.predict("default", json.dumps({"review-youth-recruitment:youth.min": 0.99}), SAMPLE,
                           api_name="/lab_evaluate")
    youth_rule = lambda rep: next(r for r in rep["rules"] if r["id"] == "review-youth-recruitment")  # noqa: E731
    assert youth_rule(moved)["decides"]["posts"] < youth_rule(base)["decides"]["posts"]
    assert moved["diff"]["changed"] > 0
    assert all(p["after"].startswith("review") for p in moved["diff"]["posts"])
    # Only review everything above 0.95: fewer posts actioned, precision no lower.
    tight = client.predict("default", json.dumps({"review-doubt:recruitment.min": 0.95}), SAMPLE, api_name="/lab_evaluate")
    assert tight["overall"]["volume"] <= base["overall"]["volume"]
    with pytest.raises(AppError, match="invalid policy|less than or equal"):
        client.predict("default", json.dumps({"review-doubt:recruitment.min": 1.5}), SAMPLE, api_name="/lab_evaluate")
    with pytest.raises(AppError, match="unknown thresholds"):
        client.predict("default", json.dumps({"nope:recruitment.min": 0.5}), SAMPLE, api_name="/lab_evaluate")


def test_lab_export_every_format(client):
    for fmt in ("json", "spacy", "automod", "discord", "csv", "markdown"):
        out = client.predict("default", json.dumps({"review-doubt:recruitment.min": 0.3}), fmt, api_name="/lab_export")
        assert out["filename"].startswith("cautious-default-1.0-" + fmt)
        # A format that cannot say a rule leaves it out and says so (spaCy: score rules only here).
        assert out["text"].strip() not in ("", "[]") or out["dropped"]
    out = client.predict("default", json.dumps({"review-doubt:recruitment.min": 0.3}), "json", api_name="/lab_export")
    rules = {r["id"]: r for r in json.loads(out["text"])["rules"]}
    assert rules["review-doubt"]["when"]["recruitment"]["min"] == 0.3
    automod = client.predict("default", "{}", "automod", api_name="/lab_export")
    assert automod["dropped"]  # score conditions cannot be said in AutoModerator


def test_batch_file_results_and_errors(client, tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "text": RECRUIT}),
        json.dumps({"id": "b", "text": "Apple pie recipe with cinnamon"}),
        "{not json",
        json.dumps({"id": "d"}),
        json.dumps({"id": "e", "text": WARNING}),
    ]) + "\n", encoding="utf-8")
    summary, table, results_file, errors = client.predict(handle_file(str(path)), "default", [], 0, "",
                                                          api_name="/batch")
    assert "**3** posts scored, **2** rows with errors" in summary
    rows = {r[1]: dict(zip(table["headers"], r)) for r in table["data"]}
    assert rows["a"]["action"] == "review" and rows["b"]["action"] == "allow" and rows["e"]["action"] == "allow"
    assert [e[0] for e in errors["data"]] == [3, 4]
    assert "bad JSON" in errors["data"][0][1] and "no text" in errors["data"][1][1]
    with open(results_file, newline="", encoding="utf-8") as f:
        downloaded = list(csv.DictReader(f))
    assert [r["id"] for r in downloaded] == ["a", "b", "e"]
    assert downloaded[0]["action"] == "review" and downloaded[0]["text"] == RECRUIT


def test_batch_limits(client, tmp_path):
    many = tmp_path / "many.csv"
    many.write_text("text\n" + "hello there\n" * 5001, encoding="utf-8")
    with pytest.raises(AppError, match="more than 5,000 rows"):
        client.predict(handle_file(str(many)), "default", [], 0, "", api_name="/batch")
    big = tmp_path / "big.csv"
    big.write_text("text\n" + ("x" * 999 + "\n") * 6000, encoding="utf-8")
    with pytest.raises(AppError, match="up to 5 MB"):
        client.predict(handle_file(str(big)), "default", [], 0, "", api_name="/batch")
    notext = tmp_path / "notext.csv"
    notext.write_text("body\nhello\n", encoding="utf-8")
    with pytest.raises(AppError, match="'text' column"):
        client.predict(handle_file(str(notext)), "default", [], 0, "", api_name="/batch")


def test_lab_on_an_uploaded_labelled_file_and_policy(tmp_path):
    """The lab's upload paths (the UI's file boxes), on the server's own services."""
    from demo.policy_lab import UPLOADED, evaluate, load_policy_choice
    from demo.services import InputError
    from training.data import read_corpus, read_splits

    app, _ = demo_server()
    splits = read_splits()
    records = [r for r in read_corpus() if splits.get(r.id) == "test"][:12]
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(r.model_dump_json() for r in records) + "\n{\"id\": \"x\"}\n", encoding="utf-8")
    policy = load_policy_choice("default", None, app.services)
    scored, report, saved, errors = evaluate(app.services, policy, policy, UPLOADED, None, str(data))
    assert report.posts == 12 and len(errors) >= 1 and errors[0].line == 13
    assert report.diff["changed"] == 0 and saved.overall == report.overall
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nowner: me\nrules:\n  - id: r\n    action: delete\n    reason: y\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.yaml:6 field 'rules.0.action'"):
        load_policy_choice("default", str(bad), app.services)
    with pytest.raises(InputError, match="no valid labelled posts"):
        app.services.upload_scored(b'{"id": "x"}\n', "empty.jsonl")
