"""EMA teacher networks on MMEngine's :class:`~mmengine.model.ExponentialMovingAverage`."""

from __future__ import annotations

from mmengine.model import ExponentialMovingAverage
from torch import nn

from mmssl.registry import MODELS


@MODELS.register_module()
class TeacherEMA(ExponentialMovingAverage):
    """A frozen copy of a student module updated as ``teacher = m teacher + (1 - m) student``.

    ``momentum`` is the teacher's keep rate ``m`` as self-supervised papers write it (BYOL,
    AD-L-JEPA: 0.996 rising to 1); MMEngine's ``ExponentialMovingAverage`` stores the student's
    weight ``1 - m`` in its own ``momentum`` attribute, which this class keeps in sync. The schedule
    of ``m`` lives in :class:`~mmssl.engine.hooks.TeacherMomentumHook`; the first update copies
    the student (MMEngine's behaviour at step 0).

    Args:
        model: the student module to copy (deep-copied, gradients off).
        momentum: teacher keep rate ``m`` in ``[0, 1]``.
        interval: update every ``interval`` calls of ``update_parameters``.
        update_buffers: average the buffers too (e.g. BatchNorm statistics); otherwise they are
            copied from the student at every update.
    """

    def __init__(
        self, model: nn.Module, momentum: float = 0.996, interval: int = 1, update_buffers: bool = False
    ) -> None:
        super().__init__(model, momentum=0.5, interval=interval, update_buffers=update_buffers)
        self.teacher_momentum = momentum
        self.train(False)

    @property
    def teacher_momentum(self) -> float:
        """The keep rate ``m`` (``1 -`` MMEngine's ``momentum``)."""
        return 1.0 - self.momentum

    @teacher_momentum.setter
    def teacher_momentum(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'TeacherEMA: momentum must be in [0, 1], got {value}')
        self.momentum = 1.0 - float(value)

    def train(self, mode: bool = True) -> TeacherEMA:
        """The teacher always runs in eval mode (no BatchNorm statistics updates, no dropout)."""
        return super().train(False)
