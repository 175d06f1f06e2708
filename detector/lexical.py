"""Lexical heads: character n-gram logistic regressions, blended with the transformer's heads.

Why: the fine-tuned transformer ranks recruitment well, but its category and youth heads,
shaped by a few thousand posts, blur surface cues that decide them (an age, a school
term, a drug emoji, a bank word). Character n-grams over the normalised text keep those
cues. Each head's final logit is ``(1 - w) * transformer + w * lexical``, with ``w`` (one
per head) fitted on validation, and the temperatures and thresholds are fitted on the
blend. Posts in languages the n-grams never saw get a near-constant lexical logit, so the
blend leans on the transformer there without a special case.

Stored as ``lexical.safetensors`` (weights (features, heads), biases, idf) and
``lexical.json`` (settings, blend weights and the n-gram vocabulary). Never pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .linear_store import LinearStage

LEXICAL_WEIGHTS = "lexical.safetensors"
LEXICAL_CONFIG = "lexical.json"


@dataclass(frozen=True)
class LexicalConfig:
    ngram_min: int = 2
    ngram_max: int = 5
    # Weight of the lexical logit in each head's blend, in head order (recruitment, youth,
    # then the categories); 0 leaves a head to the transformer alone.
    blend: list[float] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)  # column order of the weights
    fitted: dict | None = None  # what it was fitted on and how it did (for the model card)


class LexicalHeads(LinearStage):
    weights_file, config_file, config_class = LEXICAL_WEIGHTS, LEXICAL_CONFIG, LexicalConfig
    extra_arrays, refit_command = ("idf",), "refit"

    def __init__(self, config: LexicalConfig, weights: np.ndarray, bias: np.ndarray, idf: np.ndarray):
        n, heads = len(config.vocabulary), len(config.blend)
        bias = np.atleast_1d(np.asarray(bias, dtype=np.float32))
        if weights.shape != (n, heads) or bias.shape != (heads,) or idf.shape != (n,):
            raise ValueError(f"lexical heads do not fit their config: weights {weights.shape}, bias "
                             f"{bias.shape}, idf {idf.shape} for {n} n-grams and {heads} heads")
        self.config = config
        # Stored in half precision (it is most of the model folder's size); scored in single.
        self.weights = weights.astype(np.float16)
        self._weights32 = self.weights.astype(np.float32)
        self.bias = bias
        self.idf = idf.astype(np.float32)
        self.vectorizer = vectorizer(config.ngram_min, config.ngram_max,
                                     vocabulary={g: i for i, g in enumerate(config.vocabulary)})
        self.vectorizer.idf_ = self.idf

    @property
    def blend_weights(self) -> np.ndarray:
        return np.asarray(self.config.blend, dtype=np.float32)

    def logits(self, normalized: Sequence[str]) -> np.ndarray:
        """(n, heads) lexical logits of already-normalised texts."""
        if not len(normalized):
            return np.zeros((0, len(self.config.blend)), dtype=np.float32)
        return np.asarray(self.vectorizer.transform(list(normalized)) @ self._weights32) + self.bias

    def blend(self, transformer_logits: np.ndarray, normalized: Sequence[str]) -> np.ndarray:
        """Each head's blended logit; rows the transformer did not score (-inf) stay -inf."""
        w = self.blend_weights
        return (1 - w) * np.asarray(transformer_logits, dtype=np.float32) + w * self.logits(normalized)


def vectorizer(ngram_min: int, ngram_max: int, vocabulary: dict[str, int] | None = None, max_features: int | None = None):
    """The TF-IDF character n-gram features (the same as the TF-IDF baseline's)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(ngram_min, ngram_max), sublinear_tf=True,
                           vocabulary=vocabulary, min_df=1 if vocabulary else 2, max_features=max_features,
                           dtype=np.float32)
