"""Fit the cascade's first stages for a trained model folder: the lexical screen
(``detector.screen``) and the early-exit probes (``detector.early_exit``)."""

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
# Each exit may stop at most this share of the training posts the transformer flags (and none
# of the validation ones): the lowest one or two of a couple of thousand would otherwise set
# the gate alone, and let through twice the ordinary posts.
EXIT_TRAIN_LOSS = 0.001


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
    """Which posts have a window that clears every exit's gate for their language."""
    pooled, owner = layer_pooled(net, [normalize(r.text) for r in records], probe.config.layers, 64)
    langs = [r.lang for r in records]
    passed = np.ones(len(owner), dtype=bool)
    for k, layer in enumerate(probe.config.layers):
        passed &= probe.logits(k, pooled[layer]) >= probe.config.exit_gates(k, langs, len(records))[owner]
    out = np.zeros(len(records), dtype=bool)
    np.logical_or.at(out, owner, passed)
    return out


def _post_max(row_values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf, dtype=np.float32)
    np.maximum.at(out, owner, row_values)
    return out


def fit_probe(net, train: list[LabelledPost], validation: list[LabelledPost], model_scores: np.ndarray,
              flag_threshold: float, config: ProbeConfig = ProbeConfig(),
              also_must_pass: list[LabelledPost] = ()) -> tuple[Probe, dict]:
    """Fit one probe per exit on the windows of ``train``; gate below every validation post the transformer flags.

    ``also_must_pass`` (the training recruitment posts the transformer flags) joins the
    gated posts, all but ``EXIT_TRAIN_LOSS`` of them: a few hundred validation posts leave
    the tail of an exit's scores thin, and each exit is one more chance to lose a post.
    Gates are set exit by exit, each over the windows still running after the earlier
    exits, so every must-pass post keeps a window through all of them. The gate for
    languages the probes never saw comes from leaving each training language out in turn:
    how far below the gate (fitted without it) that language's must-pass validation posts
    fall, at worst, plus the margin. Standardisation is folded into the stored weights, so
    each exit is one dot product.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, owner = layer_pooled(net, [normalize(r.text) for r in train], config.layers, 64)
    y = np.array([train[i].label == "recruitment" for i in owner])
    train_lang = np.array([train[i].lang for i in owner])
    gated = list(validation) + list(also_must_pass)
    Xv, owner_v = layer_pooled(net, [normalize(r.text) for r in gated], config.layers, 64)
    must = np.array([r.label == "recruitment" for r in validation]) & (np.asarray(model_scores) >= flag_threshold)
    must = np.concatenate([must, np.ones(len(also_must_pass), dtype=bool)])
    in_validation = np.arange(len(gated)) < len(validation)
    val_lang = np.array([r.lang for r in gated])

    def fit(layer: int, rows: np.ndarray) -> tuple[np.ndarray, float]:
        scaler = StandardScaler().fit(X[layer][rows])
        lr = LogisticRegression(C=PROBE_C, max_iter=5000).fit(scaler.transform(X[layer][rows]), y[rows])
        w = lr.coef_[0] / scaler.scale_
        return w, float(lr.intercept_[0] - w @ scaler.mean_)

    weights, biases, gates, unseen_gates, exits = [], [], [], [], []
    running = np.ones(len(owner_v), dtype=bool)  # gated windows that cleared the earlier exits
    for layer in config.layers:
        w, b = fit(layer, np.ones(len(y), dtype=bool))
        row_logits = Xv[layer] @ w + b
        logits = _post_max(np.where(running, row_logits, -np.inf), owner_v, len(gated))
        alive = np.isfinite(logits)  # posts with a window still running
        low = [logits[must & in_validation].min()] if (must & in_validation).any() else []
        if (must & ~in_validation & alive).any():
            low.append(np.quantile(logits[must & ~in_validation & alive], EXIT_TRAIN_LOSS, method="lower"))
        gate = float(min(low) - GATE_MARGIN) if low else float(row_logits.min())
        shortfall = {}
        vmust = must & in_validation  # the training posts are not held out from a language left out
        for lang in sorted(set(val_lang[vmust]) & set(train_lang)):
            others = vmust & (val_lang != lang)
            if others.any():
                lw, lb = fit(layer, train_lang != lang)
                left_out = _post_max(Xv[layer] @ lw + lb, owner_v, len(gated))
                shortfall[lang] = float(left_out[others].min() - GATE_MARGIN - left_out[vmust & (val_lang == lang)].min())
        running &= row_logits >= gate
        weights.append(w), biases.append(b), gates.append(gate)
        unseen_gates.append(gate - max([0.0, *shortfall.values()]) - GATE_MARGIN)
        exits.append({"layer": layer, "gate": gate, "unseen_gate": unseen_gates[-1],
                      "validation_other_reaching_next": float(_post_max(running.astype(np.float32), owner_v,
                                                                        len(gated))[~must].mean()),
                      "left_out_language_shortfall": {k: round(v, 3) for k, v in shortfall.items()}})
    languages = sorted(set(train_lang) - {MIXED_LANG, UNKNOWN_LANG})
    figures = {"layers": list(config.layers), "train_windows": int(len(y)), "validation_posts": len(validation),
               "must_pass": int((must & in_validation).sum()), "training_must_pass": len(also_must_pass),
               "exit_training_loss_allowed": EXIT_TRAIN_LOSS,
               "exits": exits,
               "validation_other_passed": exits[-1]["validation_other_reaching_next"] if (~must).any() else 0.0}
    config = replace(config, gates=gates, unseen_gates=unseen_gates, languages=languages, fitted=figures)
    return Probe(config, np.stack(weights), np.array(biases)), figures


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

    recruiting = [r for r in train if r.label == "recruitment"]
    flagged = det.scores([r.text for r in recruiting])["recruitment"] >= det.config.threshold
    probe, probe_figures = fit_probe(det.net, train + ordinary_train, validation, scores, det.config.threshold,
                                     also_must_pass=[r for r, f in zip(recruiting, flagged) if f])
    through = probe_passes(det.net, probe, held_out)
    probe_figures["held_out_ordinary_reaching_all_layers"] = float((passed & through).mean())
    probe = Probe(replace(probe.config, fitted=probe_figures), probe.weights, probe.bias)
    probe.save(Path(model_dir))
    figures["probe"] = probe_figures
    return figures
