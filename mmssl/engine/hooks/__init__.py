from .compute_stats_hook import ComputeStatsHook

__all__ = ['ComputeStatsHook']
