from .bad_sample_summary_hook import BadSampleSummaryHook
from .collapse_monitor_hook import CollapseMonitorHook, occupied_cell_embeddings
from .compute_stats_hook import ComputeStatsHook
from .divergence_guard_hook import DivergenceError, DivergenceGuardHook
from .neus_cos_anneal_hook import NeuSCosAnnealHook
from .progressive_unfreeze_hook import ProgressiveUnfreezeHook
from .render_vis_hook import RenderVisHook
from .rng_state_hook import RNGStateHook
from .teacher_momentum_hook import TeacherMomentumHook
from .trainable_params_hook import TrainableParamsHook

__all__ = [
    'BadSampleSummaryHook',
    'CollapseMonitorHook',
    'ComputeStatsHook',
    'DivergenceError',
    'DivergenceGuardHook',
    'NeuSCosAnnealHook',
    'ProgressiveUnfreezeHook',
    'RNGStateHook',
    'RenderVisHook',
    'TeacherMomentumHook',
    'occupied_cell_embeddings',
    'TrainableParamsHook',
]
