"""Model utilities: EMA teachers, weight-init completion, fine-tuning from pre-trained checkpoints."""

from .ema import TeacherEMA
from .pretrained_init import InitReport, apply_init_from, load_pretrained, read_state_dict
from .segment_pool import segment_mean
from .ssl_targets import get_ssl_target, stacked_ssl_target
from .weight_init import init_unreached_modules

__all__ = [
    'InitReport',
    'TeacherEMA',
    'apply_init_from',
    'get_ssl_target',
    'stacked_ssl_target',
    'init_unreached_modules',
    'load_pretrained',
    'read_state_dict',
    'segment_mean',
]
