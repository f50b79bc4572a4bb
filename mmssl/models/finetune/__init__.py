"""Fine-tuning strategies for small label sets: full, linear probe, LoRA (see docs/finetuning.md)."""

from .lora import LORA_LAYER_TYPES, LoRAFinetune, adapter_state_dict, load_adapter, merge_lora
from .strategies import (
    DEFAULT_HEADS,
    BaseFinetuneStrategy,
    FinetuneStrategyMixin,
    FullFinetune,
    LinearProbe,
    in_modules,
)
from .summary import format_summary, trainable_summary

__all__ = [
    'BaseFinetuneStrategy',
    'DEFAULT_HEADS',
    'FinetuneStrategyMixin',
    'FullFinetune',
    'LORA_LAYER_TYPES',
    'LinearProbe',
    'LoRAFinetune',
    'adapter_state_dict',
    'format_summary',
    'in_modules',
    'load_adapter',
    'merge_lora',
    'trainable_summary',
]
