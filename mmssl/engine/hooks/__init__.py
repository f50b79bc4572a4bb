from .compute_stats_hook import ComputeStatsHook
from .render_vis_hook import RenderVisHook
from .teacher_momentum_hook import TeacherMomentumHook

__all__ = ['ComputeStatsHook', 'RenderVisHook', 'TeacherMomentumHook']
