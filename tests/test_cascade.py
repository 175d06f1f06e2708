"""The scan's cascade: lexical screen, then a probe on the lower layers, then the rest of the transformer."""

import numpy as np
import pytest

from detector.detector import DEFAULT_MODEL, model_logits
from detector.early_exit import Probe, staged_logits
from detector.normalize import normalize
from detector.scan.records import InputRow
from detector.scan.scorer import ChunkScorer
from training.data import read_corpus, read_splits
from training.screen import read_ordinary

RECRUITING = [
    "Need a runner this weekend, £300 a day, no questions asked, DM me",
    "On cherche des jeunes pour un taf rapide, 500€ en une soirée, écris-moi en privé",
    "Wer will schnelles Geld? Du fährst nur ein Paket nach Köln, 1000€, keine Fragen",
    "Zoek iemand voor een klusje in de haven, container openen, 5k, stuur een dm",
]


@pytest.fixture(scope="module")
def scorer():
    return ChunkScorer.load()


def test_the_staged_encoder_without_a_probe_is_the_whole_model(det):
    texts = [normalize(t) for t in RECRUITING + ["Who's up for football on Sunday?", "word " * 900]]
    full = model_logits(det.net, texts, batch_size=4)
    staged = staged_logits(det.net, texts, None, batch_size=4)
    assert staged.passed.all()
    np.testing.assert_array_equal(staged.logits, full)


def test_a_post_the_probe_passes_gets_exactly_the_whole_models_scores(det):
    probe = Probe.load(DEFAULT_MODEL)
    texts = [normalize(t) for t in RECRUITING + ["Selling my old bike, 80 euros, pick up only", "Happy birthday mum!"]]
    staged = staged_logits(det.net, texts, probe, batch_size=3)
    full = model_logits(det.net, texts, batch_size=3)
    assert staged.passed[: len(RECRUITING)].all()
    np.testing.assert_allclose(staged.logits[staged.passed], full[staged.passed], atol=1e-5)
    assert np.isneginf(staged.logits[~staged.passed]).all()
    assert (staged.probe_logits[~staged.passed] < probe.config.gate).all()


def test_the_cascade_keeps_the_transformers_recall_and_clears_ordinary_posts(scorer, det):
    """On the bundled test split, training and test-only languages alike."""
    splits = read_splits()
    test = [r for r in read_corpus() if splits[r.id] == "test" and (r.is_recruitment or not r.note.startswith("ordinary"))]
    ordinary = read_ordinary("held_out")[:150]
    posts = test + ordinary
    cascade = scorer.score([InputRow(i + 1, p.id, p.text) for i, p in enumerate(posts)]).records
    alone = det.predict([p.text for p in test], batch_size=32)
    flagged_alone = {p.id for p, pred in zip(test, alone) if pred.flagged}
    lost = flagged_alone - {r.id for r in cascade if r.flagged}
    assert len(flagged_alone) > 300 and len(lost) <= 0.005 * len(flagged_alone)  # within 0.5 recall points
    # The lexical screen never clears a post in a language it was not fitted on (Polish, Danish).
    unseen = {p.id for p in posts if p.lang in ("pl", "da")}
    assert unseen and not [r for r in cascade if r.id in unseen and r.stage == "screen"]
    assert not lost & unseen
    stages = {s: sum(r.stage == s for r in cascade[len(test):]) for s in ("screen", "probe", "model")}
    # Most ordinary posts never reach the last layers, and both cheap stages do some of the work.
    assert stages["model"] < 0.25 * len(ordinary) and stages["screen"] > 0 and stages["probe"] > 0
    for r in cascade:
        if r.stage != "model":
            assert not r.flagged and r.recruitment < 0.5 and r.categories and not any(r.categories.values())


def test_a_scan_without_the_cascade_sends_every_post_through_every_layer():
    plain = ChunkScorer.load(cascade=False)
    assert plain.screen is None and plain.probe is None
    out = plain.score([InputRow(1, "a", "Happy birthday mum!"), InputRow(2, "b", RECRUITING[0])]).records
    assert [r.stage for r in out] == ["model", "model"]
