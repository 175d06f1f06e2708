"""The cascade's cheap first stage: a linear model over hashed character n-grams.

On a platform stream most posts are ordinary (school, football, a sofa for sale); the
transformer only needs to see the ones that could plausibly recruit. The screen scores a
post in microseconds, and posts it scores below its gate skip the transformer. The gate is
set low on purpose, when the screen is fitted: every validation post that is recruitment,
or that the transformer would put in the review band, clears it with a margin. Hashing
(not a fitted vocabulary) keeps the stored model to one weight vector in safetensors.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

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
    fitted: dict | None = None  # what it was fitted on and how it did (for the model card)


class Screen:
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

    def passes(self, logits: np.ndarray, signal_types: Sequence[int]) -> np.ndarray:
        """Which posts go on to the transformer."""
        return (logits >= self.config.gate) | (np.asarray(signal_types) >= self.config.min_signal_types)

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        folder = Path(folder)
        save_file({"weights": self.weights, "bias": np.array([self.bias], dtype=np.float32)}, str(folder / SCREEN_WEIGHTS))
        (folder / SCREEN_CONFIG).write_text(json.dumps(asdict(self.config), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Screen | None":
        """The screen stored in a model folder, or None if the model has none (no cascade)."""
        from safetensors.numpy import load_file

        folder = Path(folder)
        if not (folder / SCREEN_CONFIG).is_file():
            return None
        config = ScreenConfig(**json.loads((folder / SCREEN_CONFIG).read_text(encoding="utf-8")))
        tensors = load_file(str(folder / SCREEN_WEIGHTS))
        return cls(config, tensors["weights"], float(tensors["bias"][0]))
