"""Fit the cascade's first stage (``detector.screen``) for a trained model folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from detector.normalize import normalize
from detector.records import LabelledPost
from detector.screen import Screen, ScreenConfig
from detector.signals import find_signals, signal_types

from .data import TRAIN_LANGS, read_labelled

ORDINARY_DIR = Path(__file__).resolve().parent / "data" / "ordinary"
# Held-out share of the ordinary posts: the benchmark stream and the pass-rate figures use them.
ORDINARY_HELD_OUT = 0.2
GATE_MARGIN = 0.25  # logits below the lowest must-pass validation post
SCREEN_C = 10.0


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
    screen = Screen(replace(config, gate=gate), screen.weights, screen.bias)
    types = [len(signal_types(find_signals(r.text, r.lang))) for r in validation]
    passed = screen.passes(logits, types)
    figures = {"train_posts": len(train), "validation_posts": len(validation), "must_pass": int(must.sum()),
               "validation_must_pass_passed": float(passed[must].mean()) if must.any() else 1.0,
               "validation_other_passed": float(passed[~must].mean()) if (~must).any() else 0.0,
               "gate": gate}
    return Screen(replace(screen.config, fitted=figures), screen.weights, screen.bias), figures


def pass_rate(screen: Screen, records: list[LabelledPost]) -> float:
    if not records:
        return float("nan")
    logits = screen.logits([normalize(r.text) for r in records])
    types = [len(signal_types(find_signals(r.text, r.lang))) for r in records]
    return float(screen.passes(logits, types).mean())


def fit_screen_for_model(model_dir: Path, train: list[LabelledPost], validation: list[LabelledPost]) -> dict:
    """Fit, gate and save the screen of a trained detector; return its figures."""
    from detector.detector import Detector

    det = Detector.load(model_dir)
    ordinary_train = read_ordinary("train", TRAIN_LANGS)
    scores = det.scores([r.text for r in validation])["recruitment"]
    screen, figures = fit_screen(train + ordinary_train, validation, scores, det.config.threshold)
    figures["ordinary_train_posts"] = len(ordinary_train)
    figures["held_out_ordinary_passed"] = pass_rate(screen, read_ordinary("held_out"))
    screen = Screen(replace(screen.config, fitted=figures), screen.weights, screen.bias)
    screen.save(Path(model_dir))
    return figures
