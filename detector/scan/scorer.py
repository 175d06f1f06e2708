"""Score one chunk of input rows: language, signals, cascade (screen, probe, transformer), policy."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

from detector.early_exit import staged_logits
from detector.langid import identify
from detector.normalize import normalize
from detector.precision import autocast, resolve_precision
from detector.records import Prediction
from detector.signals import Signal, find_signals, signal_types

from .records import InputRow, ScanRecord

T = TypeVar("T")
_END = object()


@dataclass
class ScoredChunk:
    records: list[ScanRecord]
    flagged_categories: list[list[str]]


@dataclass
class PreparedChunk:
    rows: list[InputRow]
    langs: list[str]
    signals: list[list[Signal]]
    normalized: list[str]
    logits: np.ndarray  # the lexical screen's (zeros without a screen)
    to_model: np.ndarray  # bool: passed the screen


def score_ahead(scorer, chunks: Iterable[T], rows_of: Callable[[T], list[InputRow]],
                ahead: bool = True) -> Iterator[tuple[T, ScoredChunk]]:
    """Score chunks in order, preparing the next one in a thread while this one is finished.

    Input is read on the caller's thread (readers keep their positions there); only
    ``scorer.prepare`` runs on the helper thread, one chunk ahead. ``ahead=False`` keeps
    everything on the caller's thread (a scan limited to one CPU thread).
    """
    if not ahead:
        for chunk in chunks:
            yield chunk, scorer.score(rows_of(chunk))
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare") as pool:
        it = iter(chunks)
        nxt = next(it, _END)
        pending = pool.submit(scorer.prepare, rows_of(nxt)) if nxt is not _END else None
        while nxt is not _END:
            current, prepared = nxt, pending
            nxt = next(it, _END)
            ready = prepared.result()
            pending = pool.submit(scorer.prepare, rows_of(nxt)) if nxt is not _END else None
            yield current, scorer.finish(ready)


class ChunkScorer:
    """Everything a worker needs, loaded once: the detector, its screen and probe, the policy."""

    def __init__(self, detector, engine, screen=None, batch_size: int = 64, probe=None, precision: str = "auto"):
        self.detector, self.engine, self.screen, self.batch_size = detector, engine, screen, batch_size
        self.probe = probe
        self.device = str(next(detector.net.parameters()).device)
        self.precision = resolve_precision(precision, self.device)  # 'fp32' or 'bf16'
        self.model_version = detector.version
        self.policy_version = engine.policy_version

    @classmethod
    def load(cls, model=None, policy=None, cascade: bool = True, device: str = "cpu", batch_size: int = 64,
             precision: str = "auto"):
        from detector.detector import DEFAULT_MODEL, MODEL_ENV, Detector
        from detector.early_exit import Probe
        from detector.screen import Screen
        from policies.engine import PolicyEngine
        from policies.loader import DEFAULT_POLICY, load_policy

        det = Detector.load(model, device=device)
        folder = Path(model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
        screen = Screen.load(folder) if cascade else None
        probe = Probe.load(folder) if cascade else None
        return cls(det, PolicyEngine(load_policy(policy or DEFAULT_POLICY)), screen, batch_size, probe, precision)

    def score(self, rows: list[InputRow]) -> ScoredChunk:
        return self.finish(self.prepare(rows))

    def prepare(self, rows: list[InputRow]) -> PreparedChunk:
        """Everything before the transformer: language, signals, normalisation, the lexical screen.

        Plain Python with no torch, so a scan runs it for the next chunk in a thread while
        the transformer (which releases the GIL) works on this one.
        """
        texts = [r.text for r in rows]
        langs = [identify(t) for t in texts]
        signals = [find_signals(t, l) for t, l in zip(texts, langs)]
        normalized = [normalize(t) for t in texts]
        # Logits of the stage that cleared a post, which stand in for the transformer's score.
        logits = np.zeros(len(rows), dtype=np.float32)
        to_model = np.ones(len(rows), dtype=bool)
        if self.screen is not None:
            logits = self.screen.logits(normalized)
            to_model = self.screen.passes(logits, [len(signal_types(s)) for s in signals], langs)
        return PreparedChunk(rows, langs, signals, normalized, logits, to_model)

    def finish(self, prepared: PreparedChunk) -> ScoredChunk:
        """The probe and the transformer for the posts the screen passed, then the policy for all."""
        rows, texts, langs, signals = prepared.rows, [r.text for r in prepared.rows], prepared.langs, prepared.signals
        logits = prepared.logits.copy()
        idx = [i for i, go in enumerate(prepared.to_model) if go]
        preds: list[Prediction | None] = [None] * len(rows)
        stages = ["screen"] * len(rows)
        if idx:
            with autocast(self.precision, self.device):
                staged = staged_logits(self.detector.net, [prepared.normalized[i] for i in idx], self.probe,
                                       self.batch_size, [langs[i] for i in idx])
            done = [k for k in range(len(idx)) if staged.passed[k]]
            head_logits = self.detector.blend(staged.logits[done], [prepared.normalized[idx[k]] for k in done],
                                              [signals[idx[k]] for k in done])
            for k, p in zip(done, self.detector.predictions(head_logits, [texts[idx[k]] for k in done],
                                                            [langs[idx[k]] for k in done])):
                preds[idx[k]], stages[idx[k]] = p, "model"
            for k in range(len(idx)):
                if not staged.passed[k]:
                    logits[idx[k]], stages[idx[k]] = staged.probe_logits[k], "probe"
        zero = {c: 0.0 for c in self.detector.config.categories}
        records, cats = [], []
        for i, row in enumerate(rows):
            p, stage = preds[i], stages[i]
            if p is None:
                # Cleared by the screen or the probe: its own probability stands in; the heads never saw it.
                prob = 1.0 / (1.0 + math.exp(-float(logits[i])))
                p = Prediction(recruitment=prob, flagged=False, categories=zero, flagged_categories=[],
                               youth_targeting=0.0, youth_flagged=False, lang=langs[i])
            d = self.engine.decide(row.text, p, signals[i], langs[i])
            records.append(ScanRecord(id=row.id, recruitment=p.recruitment, categories=p.categories,
                                      youth_targeting=p.youth_targeting, flagged=p.flagged, action=d.action,
                                      rule=d.rule, signals=[s.id for s in signals[i]], lang=langs[i], stage=stage,
                                      model_version=self.model_version, policy_version=d.policy_version))
            cats.append(list(p.flagged_categories))
        return ScoredChunk(records, cats)
