"""The cascade's second stage: probes on the transformer's own layers, with early exits.

The lexical screen clears posts whose words are plainly ordinary. Many that pass it are
still ordinary (a bike courier job, a birthday with money in the card), and telling them
apart needs context, which the transformer's layers build up as they go. At each exit
(after layers 2, 4 and 8 by default) a logistic regression on the mean-pooled hidden
states scores every window still running; a window below that exit's gate stops there,
and the others carry on from where they are, so a post that passes every exit costs no
more than the whole model alone and gets exactly its scores. Early exits are cheap and
coarse, later ones cost more and see more: of the validation posts the transformer does not
flag, about three quarters get past the exit after layer 2, a third past the one after layer
4, and one in twelve past the one after layer 8. Each gate is set when the probes are
fitted (``training/screen.py``): every validation post the transformer flags clears every
exit with a margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .linear_store import LinearStage

PROBE_WEIGHTS = "probe.safetensors"
PROBE_CONFIG = "probe.json"
DEFAULT_EXITS = (2, 4, 8)


@dataclass(frozen=True)
class ProbeConfig:
    layers: list[int] = field(default_factory=lambda: list(DEFAULT_EXITS))  # an exit after each of these layers
    gates: list[float] | None = None  # a logit per exit: windows below it stop there
    # Languages the probes were fitted on (None: treat every language as seen). Posts in other
    # languages can score lower for the same content, so they meet the wider ``unseen_gates``.
    languages: list[str] | None = None
    unseen_gates: list[float] | None = None
    fitted: dict | None = None  # what they were fitted on and how they did (for the model card)

    def exit_gates(self, exit: int, langs: Sequence[str] | None, n: int) -> np.ndarray:
        """The gate at exit number ``exit`` for each of ``n`` posts, by language."""
        gates = np.full(n, (self.gates or [0.0] * len(self.layers))[exit], dtype=np.float32)
        if langs is not None and self.languages is not None and self.unseen_gates is not None:
            seen = set(self.languages)
            gates[[lang not in seen for lang in langs]] = self.unseen_gates[exit]
        return gates


class Probe(LinearStage):
    """One logistic regression per exit: ``weights`` (exits, hidden), ``bias`` (exits,)."""

    weights_file, config_file, config_class = PROBE_WEIGHTS, PROBE_CONFIG, ProbeConfig

    def __init__(self, config: ProbeConfig, weights: np.ndarray, bias):
        self.config = config
        self.weights = np.asarray(weights, dtype=np.float32).reshape(len(config.layers), -1)
        self.bias = np.asarray(bias, dtype=np.float32).reshape(len(config.layers))

    def logits(self, exit: int, pooled: np.ndarray) -> np.ndarray:
        return np.asarray(pooled, dtype=np.float32) @ self.weights[exit] + self.bias[exit]


class StagedEncoder:
    """Runs a BERT-style encoder a span of layers at a time."""

    def __init__(self, model):
        self.model, self.n_layers = model, len(model.encoder.layer)

    def _mask(self, hidden, attention_mask):
        """The attention mask in the form this transformers version's layers expect."""
        m = self.model
        if hasattr(m, "_create_attention_masks"):  # transformers >= 5
            return m._create_attention_masks(attention_mask=attention_mask, encoder_attention_mask=None,
                                             embedding_output=hidden, encoder_hidden_states=None, cache=None)[0]
        return m.get_extended_attention_mask(attention_mask, attention_mask.shape)

    def embed(self, input_ids):
        return self.model.embeddings(input_ids=input_ids)

    def run(self, hidden, attention_mask, start: int, end: int):
        """Hidden states after layer ``end``, from those after layer ``start``."""
        mask = self._mask(hidden, attention_mask)
        for layer in self.model.encoder.layer[start:end]:
            out = layer(hidden, mask)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden


def check_exits(layers: Sequence[int], n_layers: int) -> None:
    """Exits are increasing layer numbers, 0 (the embeddings) to ``n_layers - 1``."""
    if not layers or list(layers) != sorted(set(layers)) or not 0 <= layers[0] or not layers[-1] < n_layers:
        raise ValueError(f"probe exits must be increasing layers between 0 and {n_layers - 1}, not {list(layers)}")


def net_windows(net, texts: Sequence[str]):
    """The model's input windows of already-normalised texts (as ``detector.model_logits`` cuts them)."""
    from .backbone import Windows

    width = min(net.config.max_tokens, net.encoder.config.max_position_embeddings) - 2
    return Windows.of(net.tokenizer, list(texts), net.config.prefix, width)


@dataclass
class StagedResult:
    logits: np.ndarray  # (n, heads): the full model's head logits; -inf rows where no window passed
    probe_logits: np.ndarray  # (n,): each post's highest window logit at the last exit its windows reached
    passed: np.ndarray  # (n,) bool: at least one window went through every layer


def _trim(hidden, mask, keep: np.ndarray):
    """The kept rows, without the padding columns none of them needs (rows are padded at the end)."""
    import torch

    sel = torch.from_numpy(np.flatnonzero(keep)).to(hidden.device)
    hidden, mask = hidden[sel], mask[sel]
    real = int(mask.sum(1).max())
    return hidden[:, :real], mask[:, :real]


def staged_logits(net, texts: Sequence[str], probe: Probe | None, batch_size: int = 32,
                  langs: Sequence[str] | None = None) -> StagedResult:
    """Head logits of already-normalised texts, with windows below a probe's gate stopped early.

    ``langs`` (one per text) picks each post's gates (see ``ProbeConfig.exit_gates``). With
    ``probe=None`` every window runs the whole encoder (the result then equals
    ``detector.model_logits``) and ``probe_logits`` is all zeros.
    """
    import torch

    from .backbone import mean_pool

    windows = net_windows(net, texts)
    n_rows, n_out = len(windows.rows), net.heads.out_features
    staged = StagedEncoder(net.encoder)
    exits = list(probe.config.layers) if probe is not None else []
    if exits:
        check_exits(exits, staged.n_layers)
    owner = np.asarray(windows.owner, dtype=int)
    row_gates = [probe.config.exit_gates(k, langs, len(texts))[owner] for k in range(len(exits))]
    row_logits = np.full((n_rows, n_out), -np.inf, dtype=np.float32)
    row_probe = np.zeros(n_rows, dtype=np.float32)
    device = next(net.parameters()).device
    with torch.inference_mode():
        for idx, ids, mask in windows.batches(net.tokenizer.pad_token_id, batch_size):
            idx, mask = np.asarray(idx), mask.to(device)
            hidden, at = staged.embed(ids.to(device)), 0
            for k, layer in enumerate(exits):
                hidden = staged.run(hidden, mask, at, layer)
                at = layer
                row_probe[idx] = probe.logits(k, mean_pool(hidden, mask).float().cpu().numpy())
                keep = row_probe[idx] >= row_gates[k][idx]
                if not keep.all():
                    idx = idx[keep]
                    if not len(idx):
                        break
                    hidden, mask = _trim(hidden, mask, keep)
            else:
                pooled = mean_pool(staged.run(hidden, mask, at, staged.n_layers), mask)
                row_logits[idx] = net.heads(pooled).float().cpu().numpy()
    logits = np.full((len(texts), n_out), -np.inf, dtype=np.float32)
    probe_logits = np.full(len(texts), -np.inf, dtype=np.float32)
    np.maximum.at(logits, owner, row_logits)
    np.maximum.at(probe_logits, owner, row_probe)
    return StagedResult(logits, probe_logits, np.isfinite(logits[:, 0]))


def layer_pooled(net, texts: Sequence[str], layers: Sequence[int], batch_size: int = 32):
    """Mean-pooled hidden states after each of ``layers``, one row per window, and each row's text.

    Returned as ({layer: pooled (rows, hidden)}, owner (rows,)): the probes are fitted on windows.
    """
    import torch

    from .backbone import mean_pool

    windows = net_windows(net, texts)
    staged = StagedEncoder(net.encoder)
    check_exits(layers, staged.n_layers + 1)
    out = {layer: np.zeros((len(windows.rows), net.encoder.config.hidden_size), dtype=np.float32) for layer in layers}
    device = next(net.parameters()).device
    with torch.inference_mode():
        for idx, ids, mask in windows.batches(net.tokenizer.pad_token_id, batch_size):
            mask = mask.to(device)
            hidden, at = staged.embed(ids.to(device)), 0
            for layer in layers:
                hidden, at = staged.run(hidden, mask, at, layer), layer
                out[layer][idx] = mean_pool(hidden, mask).float().cpu().numpy()
    return out, np.asarray(windows.owner, dtype=int)
