"""Word-occlusion explanations with the real shipped model, and ``recruitwatch explain``."""

import json

import pytest
from typer.testing import CliRunner

from detector.explain import MAX_CHARS, band_of, explain, group_spans, without, word_spans

CLEAR = "Need drivers tonight, easy money 💰, 16+ ok, DM @fake_handle_123 on Telegram, no questions asked"
RECRUITISH = {"drivers", "easy", "money", "💰", "16+", "DM", "@fake_handle_123", "Telegram", "questions", "asked", "tonight"}


@pytest.fixture(scope="module")
def det():
    from detector import Detector

    return Detector.load()


def test_word_spans_keep_words_emojis_and_handles_not_punctuation():
    text = "Easy money 💰💰, 16+ ok!! DM @fake_handle_123… l'argent 中文字符"
    assert [text[s:e] for s, e in word_spans(text)] == [
        "Easy", "money", "💰💰", "16+", "ok", "DM", "@fake_handle_123", "l'argent", "中文", "字符"]


def test_long_posts_are_grouped_to_bound_the_cost():
    spans = [(i * 2, i * 2 + 1) for i in range(100)]
    groups, size = group_spans(spans, 48)
    assert size == 3 and len(groups) == 34 <= 48
    assert groups[0] == (0, 5) and groups[-1] == (198, 199)
    assert group_spans(spans[:10], 48) == (spans[:10], 1)


def test_without_removes_one_word_and_one_space():
    assert without("easy money now", 5, 10) == "easy now"
    assert without("money now", 0, 5) == " now"


def test_band_follows_the_calibrated_review_band():
    assert band_of(0.9, 0.6, (0.2, 0.8)) == "likely recruitment"
    assert band_of(0.7, 0.6, (0.2, 0.8)).startswith("flagged, uncertain")
    assert band_of(0.3, 0.6, (0.2, 0.8)).startswith("uncertain")
    assert band_of(0.1, 0.6, (0.2, 0.8)) == "unlikely recruitment"


def test_clear_recruitment_post_top_words_are_recruitment_words(det):
    ex = explain(det, CLEAR)
    assert ex.recruitment > 0.9 and not ex.grouped
    assert [w.word for w in ex.words][:3] == ["Need", "drivers", "tonight"]
    top = [w.word for w in ex.top(5)]
    assert len(set(top) & RECRUITISH) >= 3, top
    # Every delta is what removing that word really does to the score (one batched call
    # vs. scoring the shortened post on its own).
    for w in ex.top(3) + ex.top(2, positive=False):
        alone = float(det.scores([without(CLEAR, w.start, w.end)])["recruitment"][0])
        assert w.delta == pytest.approx(ex.recruitment - alone, abs=2e-3)
        assert CLEAR[w.start:w.end] == w.word


def test_removing_the_age_cue_lowers_a_borderline_post(det):
    text = "Snabba cash ikväll 💰 16+ ok, skriv DM"
    ex = explain(det, text)
    top = ex.top(1)[0]
    assert top.word == "16+" and top.delta > 0.3
    assert float(det.scores([without(text, top.start, top.end)])["recruitment"][0]) < ex.recruitment - 0.3


def test_long_post_is_grouped_and_limits_hold(det):
    text = " ".join(["parcel delivery job with contract"] * 30)
    ex = explain(det, text, max_units=20)
    assert ex.grouped and len(ex.words) <= 20 and ex.group_size == 8
    with pytest.raises(ValueError, match="limited"):
        explain(det, "x" * (MAX_CHARS + 1))


def test_cli_explain_json_and_table():
    from cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["explain", CLEAR, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["decision"]["action"] == "review" and out["band"] == "likely recruitment"
    assert {s["type"] for s in out["signals"]} >= {"money", "contact", "age_school"}
    assert len(out["explanation"]["words"]) == len(word_spans(CLEAR))
    res = runner.invoke(app, ["explain", CLEAR, "--top", "3"])
    assert res.exit_code == 0, res.output
    assert "decision review" in res.output and "towards recruitment" in res.output
    res = runner.invoke(app, ["explain", "   "])
    assert res.exit_code == 1
