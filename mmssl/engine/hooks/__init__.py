from .bad_sample_summary_hook import BadSampleSummaryHook
from .compute_stats_hook import ComputeStatsHook
from .divergence_guard_hook import DivergenceError, DivergenceGuardHook
from .render_vis_hook import NSMAERenderVisHook
from .rng_state_hook import RNGStateHook

__all__ = [
    'BadSampleSummaryHook',
    'ComputeStatsHook',
    'DivergenceError',
    'DivergenceGuardHook',
    'NSMAERenderVisHook',
    'RNGStateHook',
]
