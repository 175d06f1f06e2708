"""The annotation loop's parts that need no server: config, selection, resolution, agreement, issues."""

import json

import numpy as np
import pytest

from annotation.agreement import agreement, fleiss_kappa
from annotation.config import ConfigMismatch, config_problems, controls, labelling_config
from annotation.connection import AnnotationError, connection_from_env
from annotation.label_issues import find_issues
from annotation.pull import AnnotationRecord, resolve
from annotation.push import plan, post_key, read_posts, InputRow
from annotation.select import Scored, parse_mix, quotas, select
from detector.records import LabelledPost, Post, Prediction
from detector.signals import SIGNAL_TYPES, Signal
from detector.taxonomy import CATEGORIES, GENRES


def test_config_comes_from_the_taxonomy_and_detects_drift():
    xml = labelling_config()
    c = controls(xml)
    assert c["categories"].values == frozenset(CATEGORIES)
    assert c["genre"].values == frozenset(GENRES)
    assert c["label"].values == {"recruitment", "benign"}
    assert c["signals"].values == frozenset(SIGNAL_TYPES)
    assert config_problems(xml) == []
    old = xml.replace('<Choice value="fraud"', '<Choice value="scams"').replace('name="genre"', 'name="kind"')
    problems = config_problems(old)
    assert any("'categories' lacks ['fraud']" in p for p in problems)
    assert any("no longer in the taxonomy: ['scams']" in p for p in problems)
    assert any("control 'genre' (Choices) is missing" in p for p in problems)
    with pytest.raises(ConfigMismatch, match="not valid XML"):
        config_problems("<View><Text")


def test_connection_comes_from_env_or_file_with_clear_errors(tmp_path):
    with pytest.raises(AnnotationError, match="LABEL_STUDIO_URL"):
        connection_from_env({})
    with pytest.raises(AnnotationError, match="http://"):
        connection_from_env({"LABEL_STUDIO_URL": "localhost:8080", "LABEL_STUDIO_API_KEY": "k"})
    with pytest.raises(AnnotationError, match="LABEL_STUDIO_API_KEY"):
        connection_from_env({"LABEL_STUDIO_URL": "http://x"})
    key = tmp_path / "key"
    key.write_text("secret-token\n")
    conn = connection_from_env({"LABEL_STUDIO_URL": "http://x/", "LABEL_STUDIO_API_KEY_FILE": str(key)})
    assert conn.url == "http://x" and conn.api_key == "secret-token"
    assert "secret-token" not in repr(conn)
    with pytest.raises(AnnotationError, match="no such file"):
        connection_from_env({"LABEL_STUDIO_URL": "http://x", "LABEL_STUDIO_API_KEY_FILE": str(tmp_path / "nope")})


def test_read_posts_names_file_line_and_field(tmp_path):
    f = tmp_path / "scan.jsonl"
    f.write_text("\n".join([json.dumps({"id": "a", "text": "hello there", "score": 0.3}),
                            json.dumps({"id": "b"}),
                            "{broken",
                            json.dumps({"id": "c", "text": "hi", "lang": "english"}),
                            json.dumps({"id": "a", "text": "hello there"})]) + "\n")
    good, bad = read_posts(f)
    assert [r.line for r in good] == [1, 5]
    assert [(e.line, e.field) for e in bad] == [(2, "text"), (3, None), (4, "lang")]
    assert all(str(f) in str(e) for e in bad)
    fresh, skipped = plan(good, {})
    assert [r.line for r in fresh] == [1] and "same id and text as line 1" in skipped[0].reason
    fresh, skipped = plan(good, {post_key("a", "hello there"): 7})
    assert not fresh and all("task 7" in s.reason for s in skipped)


def _item(i, score, signals=(), action=None):
    pred = Prediction(recruitment=score, flagged=score >= 0.5, categories={c: 0.0 for c in CATEGORIES},
                      flagged_categories=[], youth_targeting=0.1, youth_flagged=False, lang="en")
    sigs = [Signal(f"{t}.x", t, "x", 0, 1, "en") for t in signals]
    return Scored(i + 1, Post(id=f"p{i}", text=f"post number {i}"), pred, sigs, action)


def test_strategies_and_mix():
    assert parse_mix("uncertainty=1,random=3") == {"uncertainty": 0.25, "random": 0.75}
    with pytest.raises(ValueError, match="unknown strategy 'smart'"):
        parse_mix("smart")
    assert sum(quotas({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 10).values()) == 10
    items = [_item(i, s) for i, s in enumerate([0.01, 0.49, 0.99, 0.55, 0.2, 0.02])]
    assert [c.index for c in select(items, 2, "uncertainty", 0.5)] == [1, 3]
    # Model says no but the policy reviews and signals pile up: a disagreement.
    items[0] = _item(0, 0.01, ("money", "contact", "secrecy"), "review")
    picks = select(items, 1, "disagreement", 0.5)
    assert picks[0].index == 0 and "policy 'review'" in picks[0].reason
    # No disagreement left to find: the budget is filled by uncertainty, never duplicated.
    picks = select(items, 4, "disagreement", 0.5)
    assert len({c.index for c in picks}) == 4
    assert len(select(items, 3, "random", 0.5, seed=1)) == 3


def test_diverse_takes_one_per_cluster():
    # 30 near-copies of one ad and 3 different posts: 4 picks must cover all 4 groups.
    items = [_item(i, 0.5) for i in range(33)]
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:4] * 10
    vecs = np.array([centres[0] + rng.normal(0, 0.01, 8) for _ in range(30)] + [centres[k] for k in (1, 2, 3)])
    embed = lambda texts: vecs[[int(t.split()[-1]) for t in texts]]  # noqa: E731
    picks = select(items, 4, "diverse", 0.5, embed=embed)
    groups = {0 if c.index < 30 else c.index for c in picks}
    assert len(groups) == 4


def _ann(task, who, label="benign", cats=(), youth=False, genre="discussion", note=""):
    return AnnotationRecord(project_id=1, task_id=task, annotation_id=hash((task, who)) % 10000, post_id=f"p{task}",
                            key=None, text=f"text {task}", lang="en", annotator=who, annotator_id=None,
                            created_at=None, updated_at=None, lead_time=None, model_version="m@1", model_score=0.5,
                            label=label, categories=list(cats), youth_targeting=youth, genre=genre, note=note)


def test_resolution_by_majority_and_ties_to_review():
    post, why = resolve([_ann(1, "a", "recruitment", ["theft"], genre="ad"),
                         _ann(1, "b", "recruitment", ["theft", "fraud"], genre="ad", note="car parts"),
                         _ann(1, "c", "benign", genre="ad"), _ann(1, "d", "recruitment", ["theft"], genre="ad")])
    assert not why and post.label == "recruitment" and post.categories == ("theft",) and post.note == "car parts"
    post, why = resolve([_ann(2, "a", "recruitment", ["theft"], genre="ad"), _ann(2, "b", genre="ad")])
    assert post is None and why == ["label: tie between benign and recruitment"]
    post, why = resolve([_ann(3, "a", "recruitment", ["theft"], genre="ad"),
                         _ann(3, "b", "recruitment", ["fraud"], genre="ad")])
    assert post is None and "categories: half the annotators chose fraud, theft" in why


def test_fleiss_kappa_matches_the_textbook_example():
    # Fleiss (1971) worked example as given on Wikipedia: 10 subjects, 14 raters, 5 categories → 0.210.
    table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                      [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=0.001)


def test_agreement_per_field_and_disagreements():
    recs = []
    for t in range(20):
        label = "recruitment" if t % 2 else "benign"
        cats = ["drug_dealing"] if t % 2 else []
        recs.append(_ann(t, "a", label, cats, genre="ad"))
        other = label if t >= 2 else ("benign" if label == "recruitment" else "recruitment")
        recs.append(_ann(t, "b", other, ["drug_dealing"] if other == "recruitment" else [], genre="ad"))
    recs.append(_ann(99, "a"))  # one annotation only: not compared
    rep = agreement(recs)
    assert rep.tasks == 20 and rep.annotators == ["a", "b"]
    label = next(f for f in rep.fields if f.field == "label")
    assert label.percent_agreement == pytest.approx(0.9)
    assert label.cohen[0].kappa == pytest.approx(0.8)
    assert 0.75 < label.krippendorff_alpha < 0.85 and label.fleiss == pytest.approx(0.8, abs=0.01)
    genre = next(f for f in rep.fields if f.field == "genre")
    assert genre.percent_agreement == 1.0 and genre.krippendorff_alpha is None  # one value: undefined
    assert [d.task_id for d in rep.disagreements] == [0, 1]
    assert set(rep.disagreements[0].fields) == {"label", "categories"}


def test_find_issues_flags_planted_label_errors():
    rng = np.random.default_rng(0)
    posts, X = [], []
    for i in range(80):
        rec = i % 2 == 0
        planted = i in (4, 7)  # labelled the wrong way round
        label = "recruitment" if rec != planted else "benign"
        posts.append(LabelledPost(id=f"p{i}", text=f"t{i}", lang="en", label=label,
                                  categories=("fraud",) if label == "recruitment" else (), youth_targeting=False,
                                  genre="ad"))
        X.append(rng.normal(0, 1, 16) + (3 if rec else -3) * np.eye(16)[0])
    issues, notes = find_issues(posts, np.array(X), fields=("label",))
    found = {i.post_id for i in issues}
    assert {"p4", "p7"} <= found and len(found) <= 4
    assert issues[0].suggested != issues[0].given


def test_read_posts_from_csv_with_other_column_names(tmp_path):
    f = tmp_path / "posts.csv"
    f.write_text("post,body\nq1,first post\nq2,\nq3,third post\n", encoding="utf-8")
    good, bad = read_posts(f, id_field="post", text_field="body")
    assert [(r.line, r.post.id) for r in good] == [(2, "q1"), (4, "q3")]
    assert [(e.line, e.field, e.message) for e in bad] == [(3, "body", "missing or empty")]


def test_commands_say_what_is_missing_without_a_server(monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app

    for name in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_API_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    r = CliRunner().invoke(app, ["annotate", "init"])
    assert r.exit_code == 1 and "set LABEL_STUDIO_URL" in r.output
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    r = CliRunner().invoke(app, ["annotate", "pull"])
    assert r.exit_code == 1 and "LABEL_STUDIO_API_KEY" in r.output


def test_write_pull_versions_and_files(tmp_path):
    from annotation.pull import write_pull
    from training.data import read_labelled

    class Project:
        id, title = 1, "recruitwatch"

    recs = [_ann(1, "a", "recruitment", ["theft"], genre="ad"), _ann(1, "b", "recruitment", ["theft"], genre="ad"),
            _ann(2, "a", genre="news"), _ann(2, "b", genre="awareness")]
    first = write_pull(tmp_path, Project(), recs, [], 2)
    assert (first.version, first.posts, first.review) == (1, 1, 1)
    good, bad = read_labelled(tmp_path / "v0001" / "dataset" / "data.jsonl")
    assert not bad and [p.id for p in good] == ["p1"] and good[0].categories == ("theft",)
    review = json.loads((tmp_path / "v0001" / "review.jsonl").read_text())
    assert review["task_id"] == 2 and review["reasons"] == ["genre: tie between awareness and news"]
    empty = write_pull(tmp_path, Project(), [], [], 0)  # nothing annotated yet: still a usable version
    assert empty.version == 2 and read_labelled(tmp_path / "v0002" / "dataset" / "data.jsonl") == ([], [])
