"""The network: backbone + LoRA adapters, mean pooling, and three heads.

Heads share one linear layer over the pooled embedding: column 0 is recruitment, column 1
youth targeting, columns 2-8 the categories (in ``taxonomy.CATEGORIES`` order). Only the
adapters and the heads are trained and stored; the backbone is rebuilt from its cache.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from pydantic import BaseModel, Field
from torch import nn

from .backbone import DEFAULT_BACKBONE, QUERY_PREFIX, load_backbone, mean_pool
from .normalize import NORMALIZER_VERSION
from .taxonomy import CATEGORIES

# peft asks transformers a deprecated question on every adapter set-up; users cannot act on it.
warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)

CONFIG_FILE = "detector_config.json"
WEIGHTS_FILE = "adapter_and_heads.safetensors"
LORA_TARGETS = ("query", "key", "value", "dense")  # attention and feed-forward projections


class DetectorConfig(BaseModel):
    """Everything needed to rebuild a trained detector, stored beside its weights."""

    name: str = "recruitwatch-detector"
    version: str = "0"
    backbone: str = DEFAULT_BACKBONE
    prefix: str = QUERY_PREFIX
    max_tokens: int = 512
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    # Adapters on the top layers only: backpropagation then stops there, which makes CPU
    # training much cheaper at little cost for a classifier.
    lora_layers: int = 12
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES))
    normalizer_version: int = NORMALIZER_VERSION
    # Calibration and operating points, fitted on the validation split after training.
    temperature: float = 1.0
    youth_temperature: float = 1.0
    category_temperature: float = 1.0
    threshold: float = 0.5
    youth_threshold: float = 0.5
    category_thresholds: dict[str, float] = Field(default_factory=lambda: {c: 0.5 for c in CATEGORIES})
    # Below ``review_band[1]`` and above ``review_band[0]`` a score is "uncertain": a human looks.
    review_band: tuple[float, float] = (0.2, 0.8)
    # True: the youth head is fitted on recruitment posts only, and the youth score is
    # P(recruitment) x P(aimed at young people | recruitment). Older models score youth directly.
    youth_given_recruitment: bool = False
    training: dict = Field(default_factory=dict)

    def save(self, folder: Path) -> None:
        (Path(folder) / CONFIG_FILE).write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "DetectorConfig":
        return cls.model_validate(json.loads((Path(folder) / CONFIG_FILE).read_text(encoding="utf-8")))


class DetectorNet(nn.Module):
    def __init__(self, config: DetectorConfig, encoder=None, tokenizer=None):
        super().__init__()
        from peft import LoraConfig, get_peft_model

        if encoder is None:
            encoder, tokenizer = load_backbone(config.backbone)
        for p in encoder.parameters():
            p.requires_grad = False  # word embeddings and every base weight stay frozen
        n_layers = encoder.config.num_hidden_layers
        top = list(range(max(0, n_layers - config.lora_layers), n_layers))
        lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                          target_modules=list(LORA_TARGETS), layers_to_transform=top, bias="none")
        self.encoder = get_peft_model(encoder, lora)
        self.tokenizer = tokenizer
        self.config = config
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(0.1)
        self.heads = nn.Linear(hidden, 2 + len(config.categories))

    @property
    def n_categories(self) -> int:
        return len(self.config.categories)

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def head_logits(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.heads(self.dropout(pooled))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head_logits(self.pool(input_ids, attention_mask))

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()
                if "lora_" in k or k.startswith("heads.")}

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(self.trainable_state_dict(), str(folder / WEIGHTS_FILE))
        self.config.save(folder)

    @classmethod
    def load(cls, folder: Path, merge: bool = True) -> "DetectorNet":
        """Rebuild from a model folder; ``merge`` folds the adapters into the backbone for speed."""
        from safetensors.torch import load_file

        folder = Path(folder)
        config = DetectorConfig.load(folder)
        net = cls(config)
        weights = load_file(str(folder / WEIGHTS_FILE))
        missing, unexpected = net.load_state_dict(weights, strict=False)
        expected = set(net.trainable_state_dict())
        if unexpected or expected - set(weights):
            raise ValueError(f"{folder / WEIGHTS_FILE} does not fit this detector: missing "
                             f"{sorted(expected - set(weights))[:3]}, unexpected {sorted(unexpected)[:3]}")
        if merge:
            net.encoder = net.encoder.merge_and_unload()
        net.eval()
        return net
