"""After fine-tuning: refit the small heads, fit the lexical heads, blend, and calibrate on validation.

Everything here is deterministic given the adapted encoder, so ``recruitwatch refit`` can
rerun it on a trained model (with new labelled posts, say) without the fine-tuning.
"""

from __future__ import annotations

import numpy as np

from detector.detector import model_logits, model_pooled, probabilities
from detector.langid import identify
from detector.lexical import LexicalConfig, LexicalHeads, vectorizer
from detector.model import DetectorConfig
from detector.normalize import normalize
from detector.records import LabelledPost
from detector.signals import SIGNAL_TYPES, Signal, find_signals, signal_counts
from detector.taxonomy import CATEGORIES

from .calibrate import choose_threshold, fit_temperature

# L2 strengths tried for each head, the one with the lowest validation log loss kept. The
# transformer's features are standardised (a few hundred dense columns); the lexical ones are
# TF-IDF rows of unit length over 200,000 sparse columns, hence the different ranges.
REFIT_C = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 4.0, 16.0)
LEXICAL_C = (3.0, 10.0, 30.0, 100.0, 300.0)
LEXICAL_FEATURES = 200_000
# Lexical share of each head's blend: the transformer always keeps at least a tenth.
BLEND_GRID = np.round(np.arange(0.0, 0.91, 0.05), 2)


def targets(records: list[LabelledPost]) -> np.ndarray:
    """(n, 2 + k): recruitment, youth, then one column per category."""
    y = np.zeros((len(records), 2 + len(CATEGORIES)), dtype=np.float32)
    for i, r in enumerate(records):
        y[i, 0] = r.is_recruitment
        y[i, 1] = r.youth_targeting
        for c in r.categories:
            y[i, 2 + CATEGORIES.index(c)] = 1
    return y


def head_rows(y: np.ndarray, youth_given_recruitment: bool) -> list[np.ndarray]:
    """For each head, the posts it is fitted and scored on: categories (and a conditional
    youth head) on recruitment posts only, the others on every post."""
    every, rec = np.ones(len(y), bool), y[:, 0] == 1
    return [every, rec if youth_given_recruitment else every] + [rec] * len(CATEGORIES)


def _log_loss(z: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0, z) - y * z))


def _fit_logreg(X, y: np.ndarray, Xv, yv: np.ndarray, grid) -> tuple[np.ndarray, float, float, float]:
    """Weights, bias, C and validation log loss of the L2 logistic regression with the lowest
    validation log loss."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return np.zeros(X.shape[1]), float(np.log((y.mean() + 1e-3) / (1 - y.mean() + 1e-3))), 0.0, 0.0
    best = None
    for c in grid:
        lr = LogisticRegression(C=c, max_iter=5000).fit(X, y)
        loss = _log_loss(lr.decision_function(Xv), yv) if Xv.shape[0] else 0.0
        if best is None or loss < best[0]:
            best = (loss, lr, c)
    return best[1].coef_[0], float(best[1].intercept_[0]), float(best[2]), float(best[0])


def post_signals(records: list[LabelledPost]) -> list[list[Signal]]:
    """Each post's signals as a scan or ``Detector.predict`` finds them: in the language
    identified from the text, not the one in the label."""
    return [find_signals(r.text, identify(r.text)) for r in records]


def refit_heads(net, records: list[LabelledPost], validation: list[LabelledPost],
                cue_types: tuple[str, ...] = ()) -> tuple[dict, np.ndarray]:
    """Replace the youth and category rows of the head with logistic regressions on pooled
    features, and, for each head whose validation log loss they lower, the posts' signal counts.

    The shared encoder is shaped mostly by the recruitment loss, and a few hundred SGD steps
    leave the smaller heads under-fitted. The youth head is fitted on recruitment posts only,
    as the categories are: whether a post aims at young people is a question about recruitment.
    Returns the figures and the weights on the signal counts, (types, heads), which the
    lexical heads carry (the network's head sees pooled features only).
    """
    import torch

    X = model_pooled(net, [normalize(r.text) for r in records], batch_size=64).astype(np.float64)
    Xv = model_pooled(net, [normalize(r.text) for r in validation], batch_size=64).astype(np.float64)
    hidden = X.shape[1]
    if cue_types:
        X = np.hstack([X, signal_counts(post_signals(records), cue_types)])
        Xv = np.hstack([Xv, signal_counts(post_signals(validation), cue_types)])
    mu, sd = X.mean(0), X.std(0) + 1e-6  # standardise for the solver, then fold back into W and b
    Z, Zv = (X - mu) / sd, (Xv - mu) / sd
    y, yv = targets(records), targets(validation)
    rows, rows_v = head_rows(y, True), head_rows(yv, True)
    chosen, with_signals = {}, {}
    cues = np.zeros((len(cue_types), y.shape[1]), dtype=np.float32)
    with torch.no_grad():
        for row in range(1, y.shape[1]):
            r, rv = rows[row], rows_v[row]
            fits = [_fit_logreg(Z[r][:, cols], y[r, row], Zv[rv][:, cols], yv[rv, row], REFIT_C)
                    for cols in ([slice(0, hidden), slice(None)] if cue_types else [slice(0, hidden)])]
            w, b, c, _ = min(fits, key=lambda f: f[3])  # the first (no signals) on a tie
            w = np.pad(w, (0, Z.shape[1] - len(w)))
            net.heads.weight[row] = torch.from_numpy(w[:hidden] / sd[:hidden]).float()
            net.heads.bias[row] = float(b - (w * mu / sd).sum())
            cues[:, row] = w[hidden:] / sd[hidden:]
            chosen[head_name(row)] = c
            with_signals[head_name(row)] = bool(np.any(w[hidden:]))
    figures = {"C": chosen}
    if cue_types:
        figures["signals"] = with_signals
    return figures, cues


def head_name(row: int) -> str:
    return ("recruitment", "youth", *CATEGORIES)[row]


def fit_lexical(records: list[LabelledPost], validation: list[LabelledPost], transformer_validation: np.ndarray,
                youth_given_recruitment: bool, cue_types: tuple[str, ...] = (),
                cue_weights: np.ndarray | None = None) -> LexicalHeads:
    """Fit one character n-gram logistic regression per head, and each head's blend weight.

    The blend weight is the lexical share whose blended logit, after temperature scaling,
    has the lowest validation log loss. ``transformer_validation`` includes the signal-count
    terms ``cue_weights`` of the refitted heads, which are scaled with the transformer's share.
    """
    vec = vectorizer(2, 5, max_features=LEXICAL_FEATURES)
    X = vec.fit_transform([normalize(r.text) for r in records])
    Xv = vec.transform([normalize(r.text) for r in validation])
    y, yv = targets(records), targets(validation)
    rows, rows_v = head_rows(y, youth_given_recruitment), head_rows(yv, youth_given_recruitment)
    weights, biases, blend, figures = [], [], [], {}
    for row in range(y.shape[1]):
        w, b, c, _ = _fit_logreg(X[rows[row]], y[rows[row], row], Xv[rows_v[row]], yv[rows_v[row], row], LEXICAL_C)
        weights.append(w), biases.append(b)
        zt, zl, t = transformer_validation[rows_v[row], row], Xv[rows_v[row]] @ w + b, yv[rows_v[row], row]
        losses = [_calibrated_loss((1 - a) * zt + a * zl, t) for a in BLEND_GRID]
        blend.append(float(BLEND_GRID[int(np.argmin(losses))]))
        figures[head_name(row)] = {"C": c, "blend": blend[-1], "validation_log_loss": round(min(losses), 4),
                                   "transformer_alone_log_loss": round(losses[0], 4)}
    vocabulary = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
    config = LexicalConfig(blend=blend, vocabulary=vocabulary, cue_types=list(cue_types),
                           fitted={"train_posts": len(records), "validation_posts": len(validation),
                                   "features": len(vocabulary), "heads": figures})
    cues = None if cue_weights is None else (1 - np.array(blend))[None, :] * cue_weights
    return LexicalHeads(config, np.stack(weights, 1).astype(np.float32), np.array(biases), vec.idf_, cues)


def _calibrated_loss(z: np.ndarray, y: np.ndarray) -> float:
    return _log_loss(z / fit_temperature(z, y), y)


def calibrate(config: DetectorConfig, logits: np.ndarray, validation: list[LabelledPost], max_fpr: float) -> None:
    """Temperatures, then operating thresholds on the calibrated scores, all on validation."""
    yv = targets(validation)
    rows = head_rows(yv, config.youth_given_recruitment)
    rec = yv[:, 0] == 1
    config.temperature = fit_temperature(logits[:, 0], yv[:, 0])
    config.youth_temperature = fit_temperature(logits[rows[1], 1], yv[rows[1], 1])
    config.category_temperature = fit_temperature(logits[rec, 2:].ravel(), yv[rec, 2:].ravel())
    p = probabilities(config, logits)
    config.threshold = choose_threshold(p["recruitment"], yv[:, 0], max_fpr=max_fpr)
    # Youth and categories are judged on recruitment posts, where they matter.
    config.youth_threshold = choose_threshold(p["youth"][rec], yv[rec, 1])
    config.category_thresholds = {c: choose_threshold(p["categories"][rec, j], yv[rec, 2 + j])
                                  for j, c in enumerate(CATEGORIES)}


def fit_heads(net, records: list[LabelledPost], validation: list[LabelledPost], max_fpr: float,
              refit: bool = True, lexical: bool = True) -> tuple[LexicalHeads | None, dict]:
    """Refit the heads (optional), fit the lexical heads (optional), calibrate ``net.config``.

    Signal counts join the refitted heads only when there are lexical heads to carry them.
    """
    figures = {}
    config = net.config
    config.youth_given_recruitment = refit
    cue_types = tuple(SIGNAL_TYPES) if refit and lexical else ()
    cue_weights = None
    if refit:
        figures["refit"], cue_weights = refit_heads(net, records, validation, cue_types)
    val_texts = [normalize(r.text) for r in validation]
    logits = model_logits(net, val_texts, batch_size=64)
    heads = None
    if lexical:
        val_signals = post_signals(validation) if cue_types else None
        with_cues = logits + signal_counts(val_signals, cue_types) @ cue_weights if cue_types else logits
        heads = fit_lexical(records, validation, with_cues, refit, cue_types, cue_weights if cue_types else None)
        logits = heads.blend(logits, val_texts, val_signals)
        figures["lexical"] = heads.config.fitted
    calibrate(config, logits, validation, max_fpr)
    return heads, figures
