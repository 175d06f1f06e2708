"""The number format the transformer runs in during a scan: fp32, or bf16 where the hardware has it.

Scans are dominated by the encoder's matrix products. On CPUs with native bf16 (AVX512-BF16
or AMX) and on CUDA GPUs, running them in bf16 under autocast roughly halves their time;
elsewhere bf16 is emulated and slower, so "auto" keeps fp32 there. Layer norms, softmax
and the heads' outputs stay in fp32 (autocast's own rules, plus ``.float()`` on the way out).
Evaluation and ``Detector.predict`` stay in fp32: the model card's figures are fp32 figures,
and the benchmark reports the cascade's recall in the scan's precision against them.
"""

from __future__ import annotations

import contextlib

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: str = "cpu") -> bool:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, hence the guard
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """'fp32' or 'bf16' for a requested ``precision`` (one of ``PRECISIONS``) on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def autocast(precision: str, device: str = "cpu"):
    """A context running torch in ``precision`` ('fp32' or 'bf16') on ``device``."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast("cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16)
