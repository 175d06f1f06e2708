"""The lexical heads: blended into the model's heads with the signal counts, better than the
transformer alone on held-out posts, stored without pickle, and applied by scans as by
``Detector.predict``."""

import json
import shutil

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from detector.detector import DEFAULT_MODEL, model_logits
from detector.lexical import LEXICAL_CONFIG, LexicalHeads
from detector.normalize import normalize
from detector.scan.records import InputRow
from detector.signals import signal_counts
from detector.taxonomy import CATEGORIES
from training.data import read_corpus, read_splits

YOUTH_RECRUITMENT = "Need 2 runners this weekend 🍃 £300 a day cash, 16+ fine, train paid. No questions. Snap me @weekend_work_x1"
# Benign posts about young people: a police warning, a worried parent, a council summer job.
ABOUT_YOUNG_PEOPLE = [
    "La police met en garde les parents : des réseaux proposent de « l'argent facile » aux adolescents sur Snapchat.",
    "Mi hijo de 15 años recibió un mensaje ofreciéndole 'dinero fácil' por llevar un paquete. ¿A quién lo denuncio?",
    "Vi söker sommarjobbare till kommunens parkförvaltning, 16–18 år, lön enligt avtal. Ansök via kommunens webbplats.",
]


@pytest.fixture(scope="module")
def test_split():
    splits = read_splits()
    return [r for r in read_corpus() if splits[r.id] == "test"]


def test_the_shipped_model_blends_every_head(det):
    lex = det.lexical
    assert lex is not None
    w = lex.blend_weights
    assert w.shape == (2 + len(CATEGORIES),) and (w >= 0).all() and (w <= 0.9).all() and (w > 0).all()
    raw = [YOUTH_RECRUITMENT, ABOUT_YOUNG_PEOPLE[0]]
    texts = [normalize(t) for t in raw]
    signals = det.signals(raw)
    expected = ((1 - w) * model_logits(det.net, texts) + w * lex.logits(texts)
                + signal_counts(signals, lex.config.cue_types) @ lex.cues)
    np.testing.assert_allclose(det.logits(texts, signals=signals), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="signals"):
        det.logits(texts)


def test_an_age_cue_raises_the_youth_score_and_nothing_moves_recruitment(det):
    """The youth head weighs the age-and-school signal; the recruitment head weighs no signal
    (it is the fine-tuned one, not refitted)."""
    lex = det.lexical
    types = lex.config.cue_types
    assert "age_school" in types
    assert lex.cues[types.index("age_school"), 1] > 0
    assert not lex.cues[:, 0].any()
    # The same post, once with the age cue's matches dropped from its signals.
    (ad,) = det.signals([YOUTH_RECRUITMENT])
    assert "age_school" in {s.type for s in ad}
    without = [s for s in ad if s.type != "age_school"]
    z = det.logits([normalize(YOUTH_RECRUITMENT)] * 2, signals=[ad, without])
    assert z[0, 1] > z[1, 1] and z[0, 0] == z[1, 0]


def test_the_blend_ranks_better_than_the_transformer_alone_on_the_test_split(det, test_split):
    """On the corpus test split (never fitted on), by average precision, which needs no threshold."""
    texts = [normalize(r.text) for r in test_split]
    alone = model_logits(det.net, texts, batch_size=64)
    blended = det.logits(texts, batch_size=64, signals=det.signals([r.text for r in test_split]))
    rec = np.array([r.is_recruitment for r in test_split])
    youth = np.array([r.youth_targeting for r in test_split])
    cats = np.array([[c in r.categories for c in CATEGORIES] for r in test_split])

    def ap(z):
        return {"recruitment": average_precision_score(rec, z[:, 0]),
                "youth": average_precision_score(youth[rec], z[rec, 1]),
                "categories": np.mean([average_precision_score(cats[rec, j], z[rec, 2 + j]) for j in range(len(CATEGORIES))])}

    a, b = ap(alone), ap(blended)
    assert b["categories"] > a["categories"] + 0.01, (a, b)
    assert b["youth"] > a["youth"], (a, b)
    assert b["recruitment"] >= a["recruitment"] - 0.002, (a, b)


def test_youth_scores_stay_low_for_posts_about_young_people_that_recruit_no_one(det):
    ad, *benign = det.predict([YOUTH_RECRUITMENT] + ABOUT_YOUNG_PEOPLE)
    assert ad.flagged and ad.youth_flagged and ad.youth_targeting > 0.5
    assert all(not p.youth_flagged and p.youth_targeting < 0.2 for p in benign), [p.youth_targeting for p in benign]
    # The youth score is the chance of recruitment aimed at young people, so never above the recruitment score.
    assert all(p.youth_targeting <= p.recruitment + 1e-6 for p in [ad, *benign])


def test_lexical_heads_round_trip_and_refuse_what_does_not_fit(det, tmp_path):
    det.lexical.save(tmp_path)
    again = LexicalHeads.load(tmp_path)
    texts = [normalize(t) for t in ABOUT_YOUNG_PEOPLE]
    np.testing.assert_array_equal(again.logits(texts), det.lexical.logits(texts))
    np.testing.assert_array_equal(again.cues, det.lexical.cues)
    assert again.config.cue_types == det.lexical.config.cue_types
    assert not list(tmp_path.glob("*.pkl"))

    config = json.loads((tmp_path / LEXICAL_CONFIG).read_text())
    (tmp_path / LEXICAL_CONFIG).write_text(json.dumps({**config, "vocabulary": config["vocabulary"][:-1]}))
    with pytest.raises(ValueError, match="do not fit their config"):
        LexicalHeads.load(tmp_path)
    (tmp_path / LEXICAL_CONFIG).write_text(json.dumps({**config, "hashing": True}))
    with pytest.raises(ValueError, match=r"lexical\.json.*recruitwatch refit"):
        LexicalHeads.load(tmp_path)


def test_lexical_heads_saved_before_signal_counts_load_and_blend_without_them(det, tmp_path):
    from safetensors.numpy import load_file, save_file

    det.lexical.save(tmp_path)
    tensors = load_file(str(tmp_path / "lexical.safetensors"))
    save_file({k: v for k, v in tensors.items() if k != "cues"}, str(tmp_path / "lexical.safetensors"))
    config = json.loads((tmp_path / LEXICAL_CONFIG).read_text())
    (tmp_path / LEXICAL_CONFIG).write_text(json.dumps({k: v for k, v in config.items() if k != "cue_types"}))
    old = LexicalHeads.load(tmp_path)
    assert not old.uses_signals and old.cues.shape == (0, 2 + len(CATEGORIES))
    texts = [normalize(t) for t in ABOUT_YOUNG_PEOPLE]
    z = np.zeros((len(texts), 2 + len(CATEGORIES)), dtype=np.float32)
    np.testing.assert_allclose(old.blend(z, texts), old.blend_weights * old.logits(texts), rtol=1e-6)


def test_a_model_without_lexical_heads_still_loads_and_scores(tmp_path):
    from detector import Detector

    folder = tmp_path / "m"
    shutil.copytree(DEFAULT_MODEL, folder, ignore=shutil.ignore_patterns("lexical.*", "evaluation"))
    plain = Detector.load(folder)
    assert plain.lexical is None
    (p,) = plain.predict([YOUTH_RECRUITMENT])
    assert 0 <= p.recruitment <= 1


def test_a_scan_scores_what_reaches_the_last_layer_as_predict_does(det):
    from detector.scan.scorer import ChunkScorer

    scorer = ChunkScorer.load(precision="fp32")
    texts = [YOUTH_RECRUITMENT] + ABOUT_YOUNG_PEOPLE
    records = scorer.score([InputRow(i + 1, f"p{i}", t) for i, t in enumerate(texts)]).records
    preds = det.predict(texts)
    reached = [(r, p) for r, p in zip(records, preds) if r.stage == "model"]
    assert reached and reached[0][0].id == "p0"
    for r, p in reached:
        assert r.recruitment == pytest.approx(p.recruitment, abs=1e-5)
        assert r.youth_targeting == pytest.approx(p.youth_targeting, abs=1e-5)
        assert r.categories == pytest.approx(p.categories, abs=1e-5)
