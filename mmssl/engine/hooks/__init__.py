from .bad_sample_summary_hook import BadSampleSummaryHook
from .compute_stats_hook import ComputeStatsHook
from .divergence_guard_hook import DivergenceError, DivergenceGuardHook
from .progressive_unfreeze_hook import ProgressiveUnfreezeHook
from .render_vis_hook import RenderVisHook
from .rng_state_hook import RNGStateHook
from .teacher_momentum_hook import TeacherMomentumHook
from .trainable_params_hook import TrainableParamsHook

__all__ = [
    'BadSampleSummaryHook',
    'ComputeStatsHook',
    'DivergenceError',
    'DivergenceGuardHook',
    'ProgressiveUnfreezeHook',
    'RNGStateHook',
    'RenderVisHook',
    'TeacherMomentumHook',
    'TrainableParamsHook',
]
