"""Fine-tune the detector: LoRA adapters + heads on the backbone; then refit the small heads,
fit the lexical heads and calibrate on validation (``training.heads``), and fit the scan's stages.

The loop is plain PyTorch because the job is small (a few thousand short posts, a frozen
backbone with adapters): length-bucketed batches keep padding low so it runs on two CPU
cores in minutes, and the same code uses a GPU when one is there.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from detector.model import DetectorConfig, DetectorNet
from detector.normalize import normalize
from detector.records import LabelledPost

from .augment import Augmenter
from .heads import fit_heads, targets

log = logging.getLogger(__name__)


@dataclass
class TrainOptions:
    seed: int = 13
    epochs: int = 4
    learning_rate: float = 5e-4
    lora_rank: int = 8
    lora_layers: int = 6
    batch_size: int = 32
    max_train_tokens: int = 128
    augment: bool = True
    augment_share: float = 0.5  # augmented copies per training post, on average
    warmup: float = 0.06
    weight_decay: float = 0.01
    # Operating point: the best validation F1 among thresholds whose false-positive rate is at
    # most this. Benign posts outnumber recruitment by orders of magnitude on a real
    # platform, so a false positive costs more than the balanced corpus suggests.
    max_fpr: float = 0.015
    category_weight: float = 4.0  # the category loss is a mean over 7 labels; weigh it up
    youth_weight: float = 1.0
    head_lr_factor: float = 4.0  # heads start from random and learn faster than the adapters
    # After fine-tuning, refit the youth and category heads as regularised logistic
    # regressions on the adapted features (``training.heads``).
    refit_heads: bool = True
    # Blend every head with a character n-gram logistic regression (``detector.lexical``).
    lexical: bool = True
    # Fit the cascade's cheap stages (``detector.screen``, ``detector.early_exit``) for batch scans.
    screen: bool = True
    max_steps: int | None = None  # for smoke tests
    device: str = "cpu"
    threads: int | None = None
    name: str = "recruitwatch-base"
    version: str = "3"  # 2: lexical heads, youth given recruitment; 3: signal counts in the heads


@dataclass
class TrainResult:
    path: Path
    seconds: float
    steps: int
    train_posts: int
    validation: dict = field(default_factory=dict)


def data_hash(records: list[LabelledPost]) -> str:
    h = hashlib.sha256()
    for r in sorted(records, key=lambda r: r.id):
        h.update(r.model_dump_json().encode())
    return h.hexdigest()


def _batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort within pools of 50 batches by length, then shuffle the batches."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(idx), pool):
        chunk = sorted(idx[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def with_augmented(train_records: list[LabelledPost], options: TrainOptions) -> list[LabelledPost]:
    """The training posts plus, if ``options.augment``, augmented copies of a seeded share of them."""
    records = list(train_records)
    if options.augment:
        rng = random.Random(options.seed)
        chosen = [r for r in train_records if rng.random() < options.augment_share]
        records += Augmenter(seed=options.seed).augment_records(chosen)
    return records


def train(train_records: list[LabelledPost], validation_records: list[LabelledPost], out_dir: Path,
          options: TrainOptions = TrainOptions(), progress: Callable[[int, int, float], None] | None = None) -> TrainResult:
    import torch
    import torch.nn.functional as F

    if not train_records or not validation_records:
        raise ValueError("training needs at least one training and one validation post")
    start_time = time.perf_counter()
    torch.manual_seed(options.seed)
    random.seed(options.seed)
    np.random.seed(options.seed)
    torch.set_num_threads(options.threads or os.cpu_count() or 1)

    records = with_augmented(train_records, options)

    config = DetectorConfig(name=options.name, version=options.version, lora_rank=options.lora_rank,
                            lora_alpha=2 * options.lora_rank, lora_layers=options.lora_layers)
    net = DetectorNet(config).to(options.device)
    tok = net.tokenizer
    enc = tok([config.prefix + normalize(r.text) for r in records], add_special_tokens=True,
              truncation=True, max_length=options.max_train_tokens)["input_ids"]
    y = torch.from_numpy(targets(records))
    lengths = [len(e) for e in enc]

    params = [p for p in net.parameters() if p.requires_grad]
    head_params = list(net.heads.parameters())
    adapter_params = [p for p in params if all(p is not h for h in head_params)]
    optim = torch.optim.AdamW([{"params": adapter_params, "lr": options.learning_rate},
                               {"params": head_params, "lr": options.learning_rate * options.head_lr_factor}],
                              weight_decay=options.weight_decay)
    steps_per_epoch = math.ceil(len(records) / options.batch_size)
    total = steps_per_epoch * options.epochs
    if options.max_steps:
        total = min(total, options.max_steps)
    warm = max(1, int(total * options.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))

    rng = random.Random(options.seed)
    step = 0
    net.train()
    while step < total:
        for batch in _batches(lengths, options.batch_size, rng):
            if step >= total:
                break
            width = max(lengths[i] for i in batch)
            ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for j, i in enumerate(batch):
                ids[j, : lengths[i]] = torch.tensor(enc[i])
                mask[j, : lengths[i]] = 1
            yb = y[batch].to(options.device)
            logits = net(ids.to(options.device), mask.to(options.device))
            loss_rec = F.binary_cross_entropy_with_logits(logits[:, 0], yb[:, 0])
            loss_youth = F.binary_cross_entropy_with_logits(logits[:, 1], yb[:, 1])
            # Categories are defined for recruitment posts only.
            is_rec = yb[:, 0:1]
            cat = F.binary_cross_entropy_with_logits(logits[:, 2:], yb[:, 2:], reduction="none")
            loss_cat = (cat * is_rec).sum() / (is_rec.sum() * cat.shape[1]).clamp(min=1)
            loss = loss_rec + options.category_weight * loss_cat + options.youth_weight * loss_youth
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optim.step()
            sched.step()
            optim.zero_grad()
            step += 1
            if progress:
                progress(step, total, loss.item())
    net.eval()
    lexical, head_figures = fit_heads(net, records, validation_records, options.max_fpr,
                                      refit=options.refit_heads, lexical=options.lexical)

    seconds = time.perf_counter() - start_time
    config.training = {
        "options": {k: v for k, v in asdict(options).items() if k not in ("device", "threads")},
        "train_posts": len(train_records), "augmented_posts": len(records) - len(train_records),
        "validation_posts": len(validation_records), "steps": step, "seconds": round(seconds, 1),
        "data_sha256": data_hash(list(train_records) + list(validation_records)),
        "device": options.device, "heads": head_figures,
    }
    out_dir = save_model(net, lexical, out_dir)
    if options.screen:
        from .screen import fit_screen_for_model

        fit_screen_for_model(out_dir, list(train_records), list(validation_records))
    return TrainResult(out_dir, seconds, step, len(train_records),
                       {"threshold": config.threshold, "temperature": config.temperature})


def save_model(net, lexical, out_dir: Path) -> Path:
    """Write weights, config and lexical heads; anything else already in the folder (a model
    card, the cascade's stages) stays. A model without lexical heads loses any stale ones."""
    from detector.lexical import LEXICAL_CONFIG, LEXICAL_WEIGHTS

    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    net.save(tmp)
    if lexical is not None:
        lexical.save(tmp)
    if out_dir.exists():
        for f in tmp.iterdir():
            os.replace(f, out_dir / f.name)
        tmp.rmdir()
        if lexical is None:
            for name in (LEXICAL_WEIGHTS, LEXICAL_CONFIG):
                (out_dir / name).unlink(missing_ok=True)
    else:
        os.replace(tmp, out_dir)
    return out_dir


def refit(model_dir: Path, train_records: list[LabelledPost], validation_records: list[LabelledPost],
          screen: bool = True, threads: int | None = None, version: str | None = None) -> dict:
    """Rerun what ``train`` does after fine-tuning (heads, lexical heads, calibration, cascade)
    on a trained model, with its stored options; the adapters stay as they are.

    ``version`` renames the model's version: scans resume, and annotation tasks match, by
    name@version, so a refit that changes the scores should get a new one."""
    import torch

    start_time = time.perf_counter()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    net = DetectorNet.load(Path(model_dir), merge=False)  # saving needs the adapters unmerged
    stored = net.config.training.get("options", {})
    options = TrainOptions(**{k: v for k, v in stored.items() if k in TrainOptions.__dataclass_fields__})
    records = with_augmented(train_records, options)
    lexical, head_figures = fit_heads(net, records, validation_records, options.max_fpr,
                                      refit=options.refit_heads, lexical=options.lexical)
    net.config.training["heads"] = head_figures
    if version is not None:
        net.config.version = version
    net.config.training["refit"] = {
        "train_posts": len(train_records), "augmented_posts": len(records) - len(train_records),
        "validation_posts": len(validation_records), "seconds": round(time.perf_counter() - start_time, 1),
        "data_sha256": data_hash(list(train_records) + list(validation_records)),
    }
    save_model(net, lexical, model_dir)
    figures = {"heads": head_figures, "threshold": net.config.threshold, "version": net.config.version}
    if screen:
        from .screen import fit_screen_for_model

        figures["screen"] = fit_screen_for_model(Path(model_dir), list(train_records), list(validation_records))
    return figures
