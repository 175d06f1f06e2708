"""The cascade's second stage: a probe on the transformer's own lower layers.

The lexical screen clears posts whose words are plainly ordinary. Many that pass it are
still ordinary (a bike courier job, a birthday with money in the card), and telling them
apart needs context, which the transformer's first layers already have. The probe is a
logistic regression on the mean-pooled hidden states after layer ``layer``; a window it
scores below its gate stops there, and a window at or above the gate carries on through
the remaining layers from where it stopped, so a post the probe passes costs no more than
the full model alone. The gate is set when the probe is fitted: every validation post
the transformer flags clears it with a margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .linear_store import LinearStage

PROBE_WEIGHTS = "probe.safetensors"
PROBE_CONFIG = "probe.json"


@dataclass(frozen=True)
class ProbeConfig:
    layer: int = 4  # hidden states after this many transformer layers
    gate: float = 0.0  # a logit: windows below it skip the remaining layers
    # Languages the probe was fitted on (None: treat every language as seen). Posts in other
    # languages can score lower for the same content, so they get the wider ``unseen_gate``.
    languages: list[str] | None = None
    unseen_gate: float | None = None
    fitted: dict | None = None  # what it was fitted on and how it did (for the model card)

    def gates(self, langs: Sequence[str] | None, n: int) -> np.ndarray:
        """The gate for each of ``n`` posts, by language."""
        gates = np.full(n, self.gate, dtype=np.float32)
        if langs is not None and self.languages is not None and self.unseen_gate is not None:
            seen = set(self.languages)
            gates[[lang not in seen for lang in langs]] = self.unseen_gate
        return gates


class Probe(LinearStage):
    weights_file, config_file, config_class = PROBE_WEIGHTS, PROBE_CONFIG, ProbeConfig

    def __init__(self, config: ProbeConfig, weights: np.ndarray, bias: float):
        self.config = config
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = float(bias)

    def logits(self, pooled: np.ndarray) -> np.ndarray:
        return np.asarray(pooled, dtype=np.float32) @ self.weights + self.bias


class StagedEncoder:
    """Runs a BERT-style encoder in two parts: layers [0, split) and [split, end)."""

    def __init__(self, model, split: int):
        layers = model.encoder.layer
        if not 0 < split < len(layers):
            raise ValueError(f"a probe after layer {split} needs an encoder of more layers (this one has {len(layers)})")
        self.model, self.split = model, split

    def _mask(self, hidden, attention_mask):
        """The attention mask in the form this transformers version's layers expect."""
        m = self.model
        if hasattr(m, "_create_attention_masks"):  # transformers >= 5
            return m._create_attention_masks(attention_mask=attention_mask, encoder_attention_mask=None,
                                             embedding_output=hidden, encoder_hidden_states=None, cache=None)[0]
        return m.get_extended_attention_mask(attention_mask, attention_mask.shape)

    def _run(self, hidden, attention_mask, layers):
        mask = self._mask(hidden, attention_mask)
        for layer in layers:
            out = layer(hidden, mask)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def lower(self, input_ids, attention_mask):
        hidden = self.model.embeddings(input_ids=input_ids)
        return self._run(hidden, attention_mask, self.model.encoder.layer[: self.split])

    def upper(self, hidden, attention_mask):
        return self._run(hidden, attention_mask, self.model.encoder.layer[self.split :])


def net_windows(net, texts: Sequence[str]):
    """The model's input windows of already-normalised texts (as ``detector.model_logits`` cuts them)."""
    from .backbone import Windows

    width = min(net.config.max_tokens, net.encoder.config.max_position_embeddings) - 2
    return Windows.of(net.tokenizer, list(texts), net.config.prefix, width)


@dataclass
class StagedResult:
    logits: np.ndarray  # (n, heads): the full model's head logits; -inf rows where no window passed
    probe_logits: np.ndarray  # (n,): each post's highest window probe logit
    passed: np.ndarray  # (n,) bool: at least one window went through every layer


def staged_logits(net, texts: Sequence[str], probe: Probe | None, batch_size: int = 32,
                  langs: Sequence[str] | None = None) -> StagedResult:
    """Head logits of already-normalised texts, with windows below the probe's gate stopped early.

    ``langs`` (one per text) picks each post's gate (see ``ProbeConfig.gates``). With
    ``probe=None`` every window runs the whole encoder (the result then equals
    ``detector.model_logits``) and ``probe_logits`` is all zeros.
    """
    import torch

    from .backbone import mean_pool

    windows = net_windows(net, texts)
    n_rows, n_out = len(windows.rows), net.heads.out_features
    split = probe.config.layer if probe is not None else len(net.encoder.encoder.layer) // 2
    staged = StagedEncoder(net.encoder, split)
    row_logits = np.full((n_rows, n_out), -np.inf, dtype=np.float32)
    row_probe = np.zeros(n_rows, dtype=np.float32)
    owner = np.asarray(windows.owner, dtype=int)
    row_gate = probe.config.gates(langs, len(texts))[owner] if probe is not None else None
    device = next(net.parameters()).device
    with torch.inference_mode():
        for idx, ids, mask in windows.batches(net.tokenizer.pad_token_id, batch_size):
            ids, mask = ids.to(device), mask.to(device)
            hidden = staged.lower(ids, mask)
            keep = np.ones(len(idx), dtype=bool)
            if probe is not None:
                row_probe[idx] = probe.logits(mean_pool(hidden, mask).float().cpu().numpy())
                keep = row_probe[idx] >= row_gate[idx]
            if not keep.any():
                continue
            sel = torch.from_numpy(np.flatnonzero(keep)).to(device)
            hidden, mask = hidden[sel], mask[sel]
            real = int(mask.sum(1).max())  # rows are padded at the end: drop columns no kept row needs
            hidden, mask = hidden[:, :real], mask[:, :real]
            pooled = mean_pool(staged.upper(hidden, mask), mask)
            row_logits[np.asarray(idx)[keep]] = net.heads(pooled).float().cpu().numpy()
    logits = np.full((len(texts), n_out), -np.inf, dtype=np.float32)
    probe_logits = np.full(len(texts), -np.inf, dtype=np.float32)
    np.maximum.at(logits, owner, row_logits)
    np.maximum.at(probe_logits, owner, row_probe)
    return StagedResult(logits, probe_logits, np.isfinite(logits[:, 0]))


def layer_pooled(net, texts: Sequence[str], layer: int, batch_size: int = 32) -> np.ndarray:
    """Mean-pooled hidden states after ``layer`` layers, one row per window, and each row's text.

    Returned as (pooled (rows, hidden), owner (rows,)): the probe is fitted on windows.
    """
    import torch

    from .backbone import mean_pool

    windows = net_windows(net, texts)
    staged = StagedEncoder(net.encoder, layer)
    out = np.zeros((len(windows.rows), net.encoder.config.hidden_size), dtype=np.float32)
    device = next(net.parameters()).device
    with torch.inference_mode():
        for idx, ids, mask in windows.batches(net.tokenizer.pad_token_id, batch_size):
            mask = mask.to(device)
            out[idx] = mean_pool(staged.lower(ids.to(device), mask), mask).float().cpu().numpy()
    return out, np.asarray(windows.owner, dtype=int)
