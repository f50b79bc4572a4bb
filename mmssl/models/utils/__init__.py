"""Model utilities: weight-init completion, fine-tuning from pre-trained checkpoints."""

from .pretrained_init import InitReport, apply_init_from, load_pretrained, read_state_dict
from .weight_init import init_unreached_modules

__all__ = ['InitReport', 'apply_init_from', 'init_unreached_modules', 'load_pretrained', 'read_state_dict']
