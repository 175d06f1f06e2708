"""Temperature scaling and operating thresholds, fitted on the validation split."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import f1_score


def _nll(logits: np.ndarray, labels: np.ndarray, t: float) -> float:
    z = logits / t
    # log(1 + e^z) - y z, computed stably
    return float(np.mean(np.logaddexp(0, z) - labels * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the negative log-likelihood of sigmoid(logits / T)."""
    logits, labels = np.asarray(logits, float), np.asarray(labels, float)
    if len(np.unique(labels)) < 2:
        return 1.0
    res = minimize_scalar(lambda lt: _nll(logits, labels, float(np.exp(lt))), bounds=(-3, 3), method="bounded")
    return float(np.exp(res.x))


def choose_threshold(probs: np.ndarray, labels: np.ndarray, max_fpr: float | None = None,
                     grid: np.ndarray | None = None) -> float:
    """The threshold with the best F1 (optionally among those whose false-positive rate is at most ``max_fpr``).

    Ties go to the higher threshold: fewer posts flagged for the same F1.
    """
    probs, labels = np.asarray(probs), np.asarray(labels).astype(bool)
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2) if grid is None else grid
    best, best_t = -1.0, 0.5
    negatives = max(int((~labels).sum()), 1)
    for t in grid:
        pred = probs >= t
        if max_fpr is not None and (pred & ~labels).sum() / negatives > max_fpr:
            continue
        f1 = f1_score(labels, pred, zero_division=0)
        if f1 >= best:
            best, best_t = f1, float(t)
    return best_t


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Weighted mean gap between confidence and accuracy over equal-width bins."""
    probs, labels = np.asarray(probs, float), np.asarray(labels, float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(probs[m].mean() - labels[m].mean())
    return float(ece)
