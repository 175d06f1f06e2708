"""The scan's cascade: lexical screen, then a probe on the lower layers, then the rest of the transformer."""

import numpy as np
import pytest

from detector.detector import DEFAULT_MODEL, model_logits
from detector.early_exit import Probe, layer_pooled, staged_logits
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
    # A stopped post scored below the gate of the exit it stopped at (its highest window's logit there).
    stopped = staged.probe_logits[~staged.passed]
    assert len(stopped) and (stopped < max(probe.config.gates)).all()


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


def test_every_exit_keeps_the_posts_the_model_flags_and_clears_some_ordinary_ones(det):
    """The gates are fitted so every validation post the transformer flags clears every exit."""
    from training.screen import probe_passes

    probe = Probe.load(DEFAULT_MODEL)
    assert len(probe.config.layers) >= 2 and probe.config.layers == sorted(probe.config.layers)
    splits = read_splits()
    validation = [r for r in read_corpus() if splits[r.id] == "validation" and r.is_recruitment]
    flagged = [r for r, p in zip(validation, det.predict([r.text for r in validation])) if p.flagged]
    assert len(flagged) > 200 and probe_passes(det.net, probe, flagged).all()
    # Each exit stops ordinary posts the earlier ones let through.
    ordinary = read_ordinary("held_out", ("en", "de", "fr"))[:120]
    pooled, owner = layer_pooled(det.net, [normalize(r.text) for r in ordinary], probe.config.layers)
    assert len(set(owner.tolist())) == len(owner)  # short posts: one window each
    running = np.ones(len(ordinary), dtype=bool)
    for k, layer in enumerate(probe.config.layers):
        clears = probe.logits(k, pooled[layer]) < probe.config.gates[k]
        assert (running & clears).sum() >= 5, f"the exit after layer {layer} stops too few posts"
        running &= ~clears


def test_precision_names():
    from detector.precision import native_bf16, resolve_precision

    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    assert resolve_precision("auto") == ("bf16" if native_bf16() else "fp32")
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("int4")


def test_a_bf16_scan_decides_as_an_fp32_scan_does():
    splits = read_splits()
    test = [r for r in read_corpus() if splits[r.id] == "test"][::6]
    rows = [InputRow(i + 1, r.id, r.text) for i, r in enumerate(test)]
    fp32 = ChunkScorer.load(precision="fp32").score(rows).records
    bf16 = ChunkScorer.load(precision="bf16").score(rows).records
    assert len(rows) > 120
    assert sum(a.flagged != b.flagged for a, b in zip(fp32, bf16)) <= 1
    diffs = np.array([abs(a.recruitment - b.recruitment) for a, b in zip(fp32, bf16) if a.stage == b.stage == "model"])
    assert len(diffs) > 50 and np.median(diffs) < 0.01 and diffs.max() < 0.1
