"""Score one chunk of input rows: language, signals, first stage, transformer, policy."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from detector.langid import identify
from detector.normalize import normalize
from detector.records import Prediction
from detector.signals import find_signals, signal_types

from .records import InputRow, ScanRecord


@dataclass
class ScoredChunk:
    records: list[ScanRecord]
    flagged_categories: list[list[str]]


class ChunkScorer:
    """Everything a worker needs, loaded once: the detector, its screen, the policy."""

    def __init__(self, detector, engine, screen=None, batch_size: int = 64):
        self.detector, self.engine, self.screen, self.batch_size = detector, engine, screen, batch_size
        self.model_version = detector.version
        self.policy_version = engine.policy_version

    @classmethod
    def load(cls, model=None, policy=None, cascade: bool = True, device: str = "cpu", batch_size: int = 64):
        from detector.detector import DEFAULT_MODEL, MODEL_ENV, Detector
        from detector.screen import Screen
        from policies.engine import PolicyEngine
        from policies.loader import DEFAULT_POLICY, load_policy

        det = Detector.load(model, device=device)
        folder = Path(model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
        screen = Screen.load(folder) if cascade else None
        return cls(det, PolicyEngine(load_policy(policy or DEFAULT_POLICY)), screen, batch_size)

    def score(self, rows: list[InputRow]) -> ScoredChunk:
        texts = [r.text for r in rows]
        langs = [identify(t) for t in texts]
        signals = [find_signals(t, l) for t, l in zip(texts, langs)]
        if self.screen is not None:
            logits = self.screen.logits([normalize(t) for t in texts])
            to_model = self.screen.passes(logits, [len(signal_types(s)) for s in signals])
        else:
            logits, to_model = None, [True] * len(rows)
        idx = [i for i, go in enumerate(to_model) if go]
        preds: list[Prediction | None] = [None] * len(rows)
        for i, p in zip(idx, self.detector.predict([texts[i] for i in idx], self.batch_size, [langs[i] for i in idx])):
            preds[i] = p
        zero = {c: 0.0 for c in self.detector.config.categories}
        records, cats = [], []
        for i, row in enumerate(rows):
            p = preds[i]
            stage = "model"
            if p is None:
                # Cleared by the first stage: its own probability stands in; the transformer never saw it.
                prob = 1.0 / (1.0 + math.exp(-float(logits[i])))
                p = Prediction(recruitment=prob, flagged=False, categories=zero, flagged_categories=[],
                               youth_targeting=0.0, youth_flagged=False, lang=langs[i])
                stage = "screen"
            d = self.engine.decide(row.text, p, signals[i], langs[i])
            records.append(ScanRecord(id=row.id, recruitment=p.recruitment, categories=p.categories,
                                      youth_targeting=p.youth_targeting, flagged=p.flagged, action=d.action,
                                      rule=d.rule, signals=[s.id for s in signals[i]], lang=langs[i], stage=stage,
                                      model_version=self.model_version, policy_version=d.policy_version))
            cats.append(list(p.flagged_categories))
        return ScoredChunk(records, cats)
