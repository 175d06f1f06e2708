"""`recruitwatch evaluate`'s report and the model card built from it, on a slice of the test split."""

import json

import pytest

from detector.detector import DEFAULT_MODEL
from training.baselines import KeywordBaseline, TfidfBaseline
from training.data import read_corpus, read_splits
from training.evaluate import DetectorSystem, evaluate
from training.model_card import render


@pytest.fixture(scope="module")
def report_dir(det, tmp_path_factory):
    splits = read_splits()
    corpus = read_corpus()
    train = [r for r in corpus if splits[r.id] == "train"][::8]  # enough for a baseline, quickly
    validation = [r for r in corpus if splits[r.id] == "validation"]
    test = [r for r in corpus if splits[r.id] == "test"][::10]
    systems = [DetectorSystem(det)]
    for b in (KeywordBaseline(), TfidfBaseline()):
        b.fit(train)
        b.tune(validation, max_fpr=0.015)
        systems.append(b)
    out = tmp_path_factory.mktemp("eval")
    evaluate(systems, test, out)
    return out, test


def test_the_report_has_every_figure_the_issue_names(report_dir):
    out, test = report_dir
    report = json.loads((out / "report.json").read_text())
    assert report["posts"] == len(test)
    det = report["systems"]["detector (recruitwatch-base)"]
    for key in ("precision", "recall", "f1", "fpr"):
        assert 0 <= det["recruitment"][key] <= 1 and 0 <= det["hard_negatives"][key] <= 1
    assert set(det["per_language"]) == {r.lang for r in test}
    assert "training languages" in det and "held-out languages" in det  # pl and da are test-only
    assert 0 <= det["category_macro_f1"] <= 1 and 0 <= det["youth_f1"] <= 1 and 0 <= det["ece"] <= 1
    assert {"f1_augmented", "f1_drop", "mean_abs_score_change"} <= set(det["robustness"])
    assert set(report["systems"]) == {"detector (recruitwatch-base)", "keyword lexicon", "TF-IDF char n-gram LR"}
    for png in ("pr_curves.png", "reliability.png", "per_language.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "## Headline figures" in md and "## At each baseline's recall" in md


def test_at_each_baselines_recall_the_detector_is_at_least_as_precise(report_dir):
    out, _ = report_dir
    matched = json.loads((out / "report.json").read_text())["at_baseline_recall"]
    assert set(matched) == {"keyword lexicon", "TF-IDF char n-gram LR"}
    for name, v in matched.items():
        b, d = v["baseline"], v["detector"]
        assert d["recall"] >= b["recall"]
        assert d["precision"] >= b["precision"] - 1e-9 and d["fpr"] <= b["fpr"] + 1e-9, (name, v)


def test_the_model_card_renders_targets_and_the_lexical_heads(report_dir):
    out, _ = report_dir
    report = json.loads((out / "report.json").read_text())
    card = render(DEFAULT_MODEL, [("A slice of the test split", "recruitwatch evaluate ...", report)])
    assert "### Against the project's targets" in card and "| category macro-F1 | >= 0.85 |" in card
    assert "Lexical heads" in card and "P(recruitment) x P(aimed at young people | recruitment)" in card
    assert "recruitwatch train -o detector/models/recruitwatch-base" in card
    assert f"{report['systems']['detector (recruitwatch-base)']['recruitment']['f1']:.3f}" in card
