"""Storage for the linear stages (``Screen``, ``Probe``, ``LexicalHeads``): weights, biases (one
per output) and any other arrays in safetensors, the config (a dataclass) beside it as JSON.
Never pickle."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np


class LinearStage:
    """Save and load for a stage built as ``cls(config, weights, bias)``."""

    weights_file: str
    config_file: str
    config_class: type
    extra_arrays: tuple[str, ...] = ()  # more arrays the constructor takes, by keyword
    refit_command: str = "screen"  # the `recruitwatch` command that rebuilds this stage

    config: object
    weights: np.ndarray
    bias: float | np.ndarray

    def save(self, folder: Path) -> None:
        """Write both files beside the model, each replaced atomically (an interrupted refit
        leaves the previous stage, never half a file)."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        weights, config = folder / self.weights_file, folder / self.config_file
        arrays = {"weights": self.weights, "bias": np.atleast_1d(np.asarray(self.bias, dtype=np.float32)),
                  **{name: getattr(self, name) for name in self.extra_arrays}}
        save_file(arrays, str(weights.with_name(weights.name + ".tmp")))
        config.with_name(config.name + ".tmp").write_text(json.dumps(asdict(self.config), indent=2) + "\n",
                                                         encoding="utf-8")
        os.replace(weights.with_name(weights.name + ".tmp"), weights)
        os.replace(config.with_name(config.name + ".tmp"), config)

    @classmethod
    def load(cls, folder: Path):
        """The stage stored in a model folder, or None if the model has none (no cascade)."""
        from safetensors.numpy import load_file

        folder = Path(folder)
        if not (folder / cls.config_file).is_file():
            return None
        try:
            config = cls.config_class(**json.loads((folder / cls.config_file).read_text(encoding="utf-8")))
        except TypeError as exc:  # fields of another version
            raise ValueError(f"{folder / cls.config_file}: {exc}; refit it with "
                             f"`recruitwatch {cls.refit_command} {folder}`") from exc
        tensors = load_file(str(folder / cls.weights_file))
        bias = tensors["bias"]  # one per output (the screen has one, the probe one per exit)
        # An array a later version added is left to the constructor's default.
        extras = {name: tensors[name] for name in cls.extra_arrays if name in tensors}
        return cls(config, tensors["weights"], float(bias[0]) if bias.size == 1 else bias, **extras)
