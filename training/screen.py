"""Fit the cascade's first stages for a trained model folder: the lexical screen
(``detector.screen``) and the lower-layer probe (``detector.early_exit``)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from detector.early_exit import Probe, ProbeConfig, layer_pooled
from detector.normalize import normalize
from detector.records import LabelledPost
from detector.screen import Screen, ScreenConfig
from detector.signals import find_signals, signal_types
from detector.taxonomy import MIXED_LANG, UNKNOWN_LANG

from .data import TRAIN_LANGS, read_labelled

ORDINARY_DIR = Path(__file__).resolve().parent / "data" / "ordinary"
# Held-out share of the ordinary posts: the benchmark stream and the pass-rate figures use them.
ORDINARY_HELD_OUT = 0.2
GATE_MARGIN = 0.25  # logits below the lowest must-pass validation post
SCREEN_C = 100.0  # chosen on held-out ordinary posts: the fewest passed at no validation loss
# Strong regularisation: the probe's gate sits below the hardest must-pass post, so a
# smooth score ranks the bulk of ordinary posts further from it than a sharp one does.
PROBE_C = 0.03


def ordinary_part(post_id: str) -> str:
    """'train' or 'held_out', fixed by a hash of the id so it never depends on file order."""
    h = int(hashlib.sha256(post_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "held_out" if h < ORDINARY_HELD_OUT else "train"


def read_ordinary(part: str | None = None, langs: tuple[str, ...] | None = None) -> list[LabelledPost]:
    """The bundled ordinary (everyday, benign) posts, optionally one part and some languages."""
    out: list[LabelledPost] = []
    for path in sorted(ORDINARY_DIR.glob("*.jsonl")):
        good, bad = read_labelled(path)
        if bad:
            raise ValueError("; ".join(str(e) for e in bad[:5]))
        out += [r for r in good if (part is None or ordinary_part(r.id) == part) and (langs is None or r.lang in langs)]
    return out


def fit_screen(train: list[LabelledPost], validation: list[LabelledPost], model_scores: np.ndarray | None,
               flag_threshold: float, config: ScreenConfig = ScreenConfig()) -> tuple[Screen, dict]:
    """Fit on ``train``; put the gate below every validation post that must reach the transformer.

    Must pass: validation recruitment posts; when ``model_scores`` (the transformer's
    calibrated scores on ``validation``) are given, only those it flags (at ``flag_threshold``),
    since the cascade's promise is the transformer's recall, not more.
    """
    from sklearn.linear_model import LogisticRegression

    screen = Screen(config, np.zeros(config.n_features, np.float32), 0.0)
    X = screen.vectorizer.transform([normalize(r.text) for r in train])
    y = np.array([r.label == "recruitment" for r in train])
    lr = LogisticRegression(C=SCREEN_C, max_iter=5000).fit(X, y)
    screen = Screen(config, lr.coef_[0], float(lr.intercept_[0]))
    logits = screen.logits([normalize(r.text) for r in validation])
    must = np.array([r.label == "recruitment" for r in validation])
    if model_scores is not None:
        must &= np.asarray(model_scores) >= flag_threshold
    gate = float(logits[must].min() - GATE_MARGIN) if must.any() else 0.0
    languages = sorted({r.lang for r in train} - {MIXED_LANG, UNKNOWN_LANG})
    screen = Screen(replace(config, gate=gate, languages=languages), screen.weights, screen.bias)
    types = [len(signal_types(find_signals(r.text, r.lang))) for r in validation]
    passed = screen.passes(logits, types, [r.lang for r in validation])
    figures = {"train_posts": len(train), "validation_posts": len(validation), "must_pass": int(must.sum()),
               "validation_must_pass_passed": float(passed[must].mean()) if must.any() else 1.0,
               "validation_other_passed": float(passed[~must].mean()) if (~must).any() else 0.0,
               "gate": gate}
    return Screen(replace(screen.config, fitted=figures), screen.weights, screen.bias), figures


def screen_passes(screen: Screen, records: list[LabelledPost]) -> np.ndarray:
    logits = screen.logits([normalize(r.text) for r in records])
    types = [len(signal_types(find_signals(r.text, r.lang))) for r in records]
    return screen.passes(logits, types, [r.lang for r in records]) if records else np.zeros(0, dtype=bool)


def probe_passes(net, probe: Probe, records: list[LabelledPost]) -> np.ndarray:
    """Which posts have a window at or above the probe's gate for their language."""
    pooled, owner = layer_pooled(net, [normalize(r.text) for r in records], probe.config.layer, 64)
    passed = probe.logits(pooled) >= probe.config.gates([r.lang for r in records], len(records))[owner]
    out = np.zeros(len(records), dtype=bool)
    np.logical_or.at(out, owner, passed)
    return out


def fit_probe(net, train: list[LabelledPost], validation: list[LabelledPost], model_scores: np.ndarray,
              flag_threshold: float, config: ProbeConfig = ProbeConfig()) -> tuple[Probe, dict]:
    """Fit on the windows of ``train``; gate below every validation post the transformer flags.

    The gate for languages the probe never saw comes from leaving each training language
    out in turn: how far below the gate (fitted without it) that language's must-pass
    validation posts fall, at worst, plus the margin. Standardisation is folded into the
    stored weights, so the probe is one dot product.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, owner = layer_pooled(net, [normalize(r.text) for r in train], config.layer, 64)
    y = np.array([train[i].label == "recruitment" for i in owner])
    train_lang = np.array([train[i].lang for i in owner])
    Xv, owner_v = layer_pooled(net, [normalize(r.text) for r in validation], config.layer, 64)

    def fit(rows: np.ndarray) -> Probe:
        scaler = StandardScaler().fit(X[rows])
        lr = LogisticRegression(C=PROBE_C, max_iter=5000).fit(scaler.transform(X[rows]), y[rows])
        w = lr.coef_[0] / scaler.scale_
        return Probe(config, w, float(lr.intercept_[0] - w @ scaler.mean_))

    def text_logits(probe: Probe) -> np.ndarray:
        out = np.full(len(validation), -np.inf, dtype=np.float32)
        np.maximum.at(out, owner_v, probe.logits(Xv))
        return out

    probe = fit(np.ones(len(y), dtype=bool))
    logits = text_logits(probe)
    must = np.array([r.label == "recruitment" for r in validation]) & (np.asarray(model_scores) >= flag_threshold)
    gate = float(logits[must].min() - GATE_MARGIN) if must.any() else float(logits.min())
    val_lang = np.array([r.lang for r in validation])
    shortfall = {}
    for lang in sorted(set(val_lang[must]) & set(train_lang)):
        others = must & (val_lang != lang)
        if others.any():
            left_out = text_logits(fit(train_lang != lang))
            shortfall[lang] = float(left_out[others].min() - GATE_MARGIN - left_out[must & (val_lang == lang)].min())
    unseen_gate = gate - max([0.0, *shortfall.values()]) - GATE_MARGIN
    languages = sorted(set(train_lang) - {MIXED_LANG, UNKNOWN_LANG})
    figures = {"layer": config.layer, "train_windows": int(len(y)), "validation_posts": len(validation),
               "must_pass": int(must.sum()),
               "validation_other_passed": float((logits[~must] >= gate).mean()) if (~must).any() else 0.0,
               "gate": gate, "unseen_gate": unseen_gate,
               "left_out_language_shortfall": {k: round(v, 3) for k, v in shortfall.items()}}
    config = replace(config, gate=gate, unseen_gate=unseen_gate, languages=languages, fitted=figures)
    return Probe(config, probe.weights, probe.bias), figures


def fit_screen_for_model(model_dir: Path, train: list[LabelledPost], validation: list[LabelledPost]) -> dict:
    """Fit, gate and save the screen and the probe of a trained detector; return their figures."""
    from detector.detector import Detector

    det = Detector.load(model_dir)
    ordinary_train = read_ordinary("train", TRAIN_LANGS)
    scores = det.scores([r.text for r in validation])["recruitment"]
    screen, figures = fit_screen(train + ordinary_train, validation, scores, det.config.threshold)
    figures["ordinary_train_posts"] = len(ordinary_train)
    held_out = read_ordinary("held_out")
    passed = screen_passes(screen, held_out)
    figures["held_out_ordinary_passed"] = float(passed.mean())
    screen = Screen(replace(screen.config, fitted=figures), screen.weights, screen.bias)
    screen.save(Path(model_dir))

    probe, probe_figures = fit_probe(det.net, train + ordinary_train, validation, scores, det.config.threshold)
    reach = passed & probe_passes(det.net, probe, held_out)
    probe_figures["held_out_ordinary_reaching_all_layers"] = float(reach.mean())
    probe = Probe(replace(probe.config, fitted=probe_figures), probe.weights, probe.bias)
    probe.save(Path(model_dir))
    figures["probe"] = probe_figures
    return figures
