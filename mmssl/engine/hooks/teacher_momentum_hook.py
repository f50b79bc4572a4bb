"""The momentum schedule and the update of EMA teachers (BYOL-style, AD-L-JEPA eq. 4)."""

from __future__ import annotations

import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmssl.registry import HOOKS


@HOOKS.register_module()
class TeacherMomentumHook(Hook):
    """Schedule the teacher momentum ``m`` and update the teacher after every optimizer step.

    ``m(p) = end - (end - start) (1 - p)`` (``'linear'``, AD-L-JEPA: 0.996 -> 1) or
    ``m(p) = end - (end - start) (cos(pi p) + 1) / 2`` (``'cosine'``, BYOL), with ``p`` the fraction
    of training done (``iter / max_iters``). The model must have a ``teacher``
    (:class:`~mmssl.models.utils.TeacherEMA`) and ``update_teacher()``, as every
    :class:`~mmssl.models.algorithms.BaseSelfSupervisor` configured with ``teacher=...`` has.
    The momentum in force is logged as ``teacher_momentum``.

    Args:
        start: momentum at the first iteration.
        end: momentum at the end of training.
        schedule: ``'linear'`` or ``'cosine'``.
    """

    priority = 'ABOVE_NORMAL'
    SCHEDULES = ('linear', 'cosine')

    def __init__(self, start: float = 0.996, end: float = 1.0, schedule: str = 'linear') -> None:
        if schedule not in self.SCHEDULES:
            raise ValueError(
                f'TeacherMomentumHook: schedule must be one of {self.SCHEDULES}, got {schedule!r}'
            )
        self.start, self.end, self.schedule = float(start), float(end), schedule

    def momentum(self, progress: float) -> float:
        """``m`` at training fraction ``progress`` in ``[0, 1]``."""
        p = min(max(progress, 0.0), 1.0)
        rest = 1.0 - p if self.schedule == 'linear' else (math.cos(math.pi * p) + 1.0) / 2.0
        return self.end - (self.end - self.start) * rest

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'teacher', None) is None:
            raise RuntimeError(f'TeacherMomentumHook: {type(model).__name__} has no EMA teacher')
        m = self.momentum(runner.iter / max(runner.max_iters, 1))
        model.teacher.teacher_momentum = m
        model.update_teacher()
        runner.message_hub.update_scalar('train/teacher_momentum', m)
