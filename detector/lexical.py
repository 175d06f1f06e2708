"""Lexical heads: character n-gram logistic regressions, blended with the transformer's heads.

Why: the fine-tuned transformer ranks recruitment well, but its category and youth heads,
shaped by a few thousand posts, blur surface cues that decide them (an age, a school
term, a drug emoji, a bank word). Character n-grams over the normalised text keep those
cues. Each head's final logit is ``(1 - w) * transformer + w * lexical``, with ``w`` (one
per head) fitted on validation, and the temperatures and thresholds are fitted on the
blend. Posts in languages the n-grams never saw get a near-constant lexical logit, so the
blend leans on the transformer there without a special case.

The stage also carries the heads' weights on signal counts (``detector.signals``: an age or
school cue, a drug or weapon term), fitted with the transformer's pooled features when the
heads are refitted and added to the blend as they are: an age cue found by a pattern says
"aimed at minors" more surely than n-grams that also match "18-25". A head whose validation
loss did not improve with them has zero weights there.

Stored as ``lexical.safetensors`` (weights (features, heads), biases, idf) and
``lexical.json`` (settings, blend weights, the n-gram vocabulary and the signal types counted);
the weights on signal counts are the array ``cues`` (types, heads). Never pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .linear_store import LinearStage
from .signals import Signal, signal_counts

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
    cue_types: list[str] = field(default_factory=list)  # signal types counted, row order of ``cues``
    fitted: dict | None = None  # what it was fitted on and how it did (for the model card)


class LexicalHeads(LinearStage):
    weights_file, config_file, config_class = LEXICAL_WEIGHTS, LEXICAL_CONFIG, LexicalConfig
    extra_arrays, refit_command = ("idf", "cues"), "refit"

    def __init__(self, config: LexicalConfig, weights: np.ndarray, bias: np.ndarray, idf: np.ndarray,
                 cues: np.ndarray | None = None):
        n, heads = len(config.vocabulary), len(config.blend)
        bias = np.atleast_1d(np.asarray(bias, dtype=np.float32))
        cues = np.zeros((0, heads), dtype=np.float32) if cues is None else np.asarray(cues, dtype=np.float32)
        if (weights.shape != (n, heads) or bias.shape != (heads,) or idf.shape != (n,)
                or cues.shape != (len(config.cue_types), heads)):
            raise ValueError(f"lexical heads do not fit their config: weights {weights.shape}, bias "
                             f"{bias.shape}, idf {idf.shape}, cues {cues.shape} for {n} n-grams, "
                             f"{len(config.cue_types)} signal types and {heads} heads")
        self.config = config
        # Stored in half precision (it is most of the model folder's size); scored in single.
        self.weights = weights.astype(np.float16)
        self._weights32 = self.weights.astype(np.float32)
        self.bias = bias
        self.idf = idf.astype(np.float32)
        self.cues = cues
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

    @property
    def uses_signals(self) -> bool:
        return bool(self.config.cue_types)

    def blend(self, transformer_logits: np.ndarray, normalized: Sequence[str],
              signals: Sequence[list[Signal]] | None = None) -> np.ndarray:
        """Each head's blended logit, plus its weights on the posts' signal counts when it has
        any (``signals``: ``find_signals`` of each original post); rows the transformer did not
        score (-inf) stay -inf."""
        w = self.blend_weights
        out = (1 - w) * np.asarray(transformer_logits, dtype=np.float32) + w * self.logits(normalized)
        if self.uses_signals:
            if signals is None or len(signals) != len(normalized):
                raise ValueError("these lexical heads weigh signal counts: pass each post's signals")
            out = out + signal_counts(signals, self.config.cue_types) @ self.cues
        return out


def vectorizer(ngram_min: int, ngram_max: int, vocabulary: dict[str, int] | None = None, max_features: int | None = None):
    """The TF-IDF character n-gram features (the same as the TF-IDF baseline's)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(ngram_min, ngram_max), sublinear_tf=True,
                           vocabulary=vocabulary, min_df=1 if vocabulary else 2, max_features=max_features,
                           dtype=np.float32)
