"""``Detector.load().predict(texts)``: the one entry point for scoring posts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .langid import identify
from .lexical import LexicalHeads
from .model import DetectorConfig, DetectorNet
from .normalize import normalize
from .records import Prediction
from .signals import Signal, find_signals

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS_DIR / "recruitwatch-base"
MODEL_ENV = "RECRUITWATCH_MODEL"


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def model_pooled(net: DetectorNet, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """Pooled embeddings (n, hidden) of already-normalised texts, long ones windowed."""
    from .backbone import pooled_embeddings

    width = min(net.config.max_tokens, net.encoder.config.max_position_embeddings) - 2
    return pooled_embeddings(net.encoder, net.tokenizer, list(texts), net.config.prefix, width, batch_size,
                             pool=net.pool)


def model_logits(net: DetectorNet, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """Raw head logits (n, 2 + categories): recruitment, youth, then the categories.

    A long post is scored window by window and keeps each head's highest logit: an ad at
    the end of a long story is still an ad, where averaging the windows would dilute it.
    A post of one window (nearly every post) is scored exactly as in training.
    """
    import torch

    from .backbone import window_embeddings

    width = min(net.config.max_tokens, net.encoder.config.max_position_embeddings) - 2
    per_row, windows = window_embeddings(net.encoder, net.tokenizer, list(texts), net.config.prefix, width,
                                         batch_size, pool=net.pool)
    with torch.inference_mode():
        rows = net.heads(torch.from_numpy(per_row)).numpy()
    out = np.full((len(texts), rows.shape[1] if len(rows) else net.heads.out_features), -np.inf, dtype=np.float32)
    np.maximum.at(out, np.asarray(windows.owner, dtype=int), rows)
    return out


def probabilities(config: DetectorConfig, logits: np.ndarray) -> dict[str, np.ndarray]:
    """Calibrated probabilities from head logits, with a model's temperatures."""
    recruitment = sigmoid(logits[:, 0] / config.temperature)
    youth = sigmoid(logits[:, 1] / config.youth_temperature)
    return {
        "recruitment": recruitment,
        # A youth head fitted on recruitment posts scores "aimed at young people, if it is
        # recruitment"; the product is the chance of both, which the policies' rules read.
        "youth": recruitment * youth if config.youth_given_recruitment else youth,
        "categories": sigmoid(logits[:, 2:] / config.category_temperature),
    }


class Detector:
    def __init__(self, net: DetectorNet, lexical: LexicalHeads | None = None):
        self.net = net
        self.config: DetectorConfig = net.config
        self.lexical = lexical

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device: str = "cpu") -> "Detector":
        """The shipped model by default (or ``$RECRUITWATCH_MODEL``), else a trained model folder."""
        folder = Path(path or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
        if not (folder / "detector_config.json").is_file():
            raise FileNotFoundError(f"{folder} is not a recruitwatch model folder (no detector_config.json); "
                                    f"train one with `recruitwatch train`")
        net = DetectorNet.load(folder)
        return cls(net.to(device), LexicalHeads.load(folder))

    @property
    def version(self) -> str:
        return f"{self.config.name}@{self.config.version}"

    def blend(self, transformer_logits: np.ndarray, normalized: Sequence[str],
              signals: Sequence[list[Signal]] | None = None) -> np.ndarray:
        """The model's head logits: the transformer's, blended with the lexical heads' when it
        has them (which may weigh each post's ``signals`` too, see ``signals``)."""
        if self.lexical is None:
            return transformer_logits
        return self.lexical.blend(transformer_logits, normalized, signals)

    def signals(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> list[list[Signal]] | None:
        """Each post's signals if the heads weigh them, else None (nothing to compute)."""
        if self.lexical is None or not self.lexical.uses_signals:
            return None
        return [find_signals(t, l) for t, l in zip(texts, self._langs(list(texts), langs))]

    def logits(self, normalized: Sequence[str], batch_size: int = 32,
               signals: Sequence[list[Signal]] | None = None) -> np.ndarray:
        """Head logits (n, 2 + categories) of already-normalised texts: recruitment, youth, categories."""
        return self.blend(model_logits(self.net, normalized, batch_size), normalized, signals)

    def probabilities(self, logits: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated probabilities from head logits (see ``logits``)."""
        return probabilities(self.config, logits)

    def scores(self, texts: Sequence[str], batch_size: int = 32,
               langs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Calibrated probabilities: ``recruitment`` (n,), ``categories`` (n, k), ``youth`` (n,)."""
        return self.probabilities(self._logits(list(texts), langs, batch_size))

    def predict(self, texts: Iterable[str] | str, batch_size: int = 32,
                langs: Sequence[str] | None = None) -> list[Prediction]:
        """One prediction per text; ``langs`` skips language identification when the caller has it."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return []
        langs = self._langs(texts, langs)
        return self.predictions(self._logits(texts, langs, batch_size), texts, langs)

    @staticmethod
    def _langs(texts: list[str], langs: Sequence[str] | None) -> list[str]:
        if langs is None:
            return [identify(t) for t in texts]
        if len(langs) != len(texts):
            raise ValueError(f"got {len(langs)} languages for {len(texts)} texts")
        return list(langs)

    def _logits(self, texts: list[str], langs: Sequence[str] | None, batch_size: int) -> np.ndarray:
        return self.logits([normalize(t) for t in texts], batch_size, self.signals(texts, langs))

    def predictions(self, logits: np.ndarray, texts: Sequence[str],
                    langs: Sequence[str] | None = None) -> list[Prediction]:
        """Typed predictions from head logits (see ``logits``), at the model's thresholds."""
        s = self.probabilities(logits)
        c = self.config
        out = []
        for i, text in enumerate(texts):
            rec = float(s["recruitment"][i])
            flagged = rec >= c.threshold
            cats = {name: float(s["categories"][i, j]) for j, name in enumerate(c.categories)}
            # Category scores are conditional on recruitment; a post not flagged has none flagged.
            flagged_cats = [k for k, v in cats.items() if flagged and v >= c.category_thresholds.get(k, 0.5)]
            if flagged and not flagged_cats:
                flagged_cats = [max(cats, key=cats.get)]
            youth = float(s["youth"][i])
            out.append(Prediction(recruitment=rec, flagged=flagged, categories=cats, flagged_categories=flagged_cats,
                                  youth_targeting=youth, youth_flagged=youth >= c.youth_threshold,
                                  lang=identify(text) if langs is None else langs[i]))
        return out
