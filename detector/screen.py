"""The cascade's first stage: a linear model over hashed character n-grams.

On a platform stream most posts are ordinary (school, football, a sofa for sale); the
transformer only needs to see the ones that could plausibly recruit. The screen scores a
post in microseconds, and posts it scores below its gate skip the transformer (the others
meet the early exits next, ``early_exit.py``). The gate is set low on purpose, when
the screen is fitted: every validation recruitment post the transformer flags clears it
with a margin, and posts in languages it was not fitted on always go on. Hashing (not a
fitted vocabulary) keeps the stored model to one weight vector in safetensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .linear_store import LinearStage

SCREEN_WEIGHTS = "screen.safetensors"
SCREEN_CONFIG = "screen.json"


@dataclass(frozen=True)
class ScreenConfig:
    n_features: int = 2**18
    ngram_min: int = 2
    ngram_max: int = 5
    gate: float = 0.0  # a logit: posts below it skip the transformer
    # Posts with at least this many distinct signal types always go to the transformer.
    min_signal_types: int = 2
    # Languages it was fitted on (None: all). Character n-grams do not carry over to other
    # languages, so their posts always go on.
    languages: list[str] | None = None
    fitted: dict | None = None  # what it was fitted on and how it did (for the model card)


class Screen(LinearStage):
    weights_file, config_file, config_class = SCREEN_WEIGHTS, SCREEN_CONFIG, ScreenConfig

    def __init__(self, config: ScreenConfig, weights: np.ndarray, bias: float):
        from sklearn.feature_extraction.text import HashingVectorizer

        self.config = config
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(config.ngram_min, config.ngram_max),
                                            n_features=config.n_features, alternate_sign=False)

    def logits(self, normalized: Sequence[str]) -> np.ndarray:
        """Screen logits of already-normalised texts."""
        if not len(normalized):
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self.vectorizer.transform(list(normalized)) @ self.weights).ravel() + self.bias

    def passes(self, logits: np.ndarray, signal_types: Sequence[int], langs: Sequence[str] | None = None) -> np.ndarray:
        """Which posts go on to the transformer."""
        out = (logits >= self.config.gate) | (np.asarray(signal_types) >= self.config.min_signal_types)
        if langs is not None and self.config.languages is not None:
            seen = set(self.config.languages)
            out |= np.array([lang not in seen for lang in langs], dtype=bool)
        return out
