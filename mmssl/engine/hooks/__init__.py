from .compute_stats_hook import ComputeStatsHook
from .render_vis_hook import NSMAERenderVisHook

__all__ = ['ComputeStatsHook', 'NSMAERenderVisHook']
