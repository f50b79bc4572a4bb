"""The base class of every self-supervised pre-training algorithm of mmssl.

A self-supervisor is an MMEngine ``BaseModel``: the Runner calls
``forward(inputs, data_samples, mode='loss')`` with the output of the data preprocessor and
optimises the sum of the returned entries whose key contains ``'loss'``
(``BaseModel.parse_losses``); other entries are logged only, so diagnostics must not contain
``'loss'`` in their key.

Besides the dispatch, the base owns the two slots methods share (mmpretrain's
``BaseSelfSupervisor`` with ``target_generator``, BYOL's EMA target network):

* ``target_generator``: a frozen network producing targets (a foundation-model teacher, a trained
  detector): gradients off, always in eval mode, called under ``no_grad`` through
  :meth:`generate_targets`, left out of the optimizer (its parameters do not require grad; see
  :class:`~mmssl.engine.optimizers.TrainableOptimWrapperConstructor`) and of saved state dicts
  (its weights come from its own file; a checkpoint without them loads).
* ``teacher``: an EMA copy of a student module (:class:`~mmssl.models.utils.TeacherEMA`), updated
  by :meth:`update_teacher`, which :class:`~mmssl.engine.hooks.TeacherMomentumHook` calls after
  every optimizer step with the scheduled momentum.

Subclasses implement :meth:`extract_feat` (encoders -> embedding, the part that is kept for
fine-tuning) and :meth:`loss`; ``mode='predict'`` is optional (e.g. renderings).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, Dict, List

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmssl.models.utils.ssl_targets import get_ssl_target
from mmssl.registry import MODELS

TARGET_GENERATOR_PREFIX = 'target_generator.'


class BaseSelfSupervisor(BaseModel, metaclass=ABCMeta):
    """Base self-supervised algorithm.

    Args:
        data_preprocessor: config of the data preprocessor (e.g.
            ``dict(type='mmdet3d.Det3DDataPreprocessor', ...)``).
        target_generator: optional config of a frozen target network.
        teacher: optional EMA teacher, ``dict(source='<student module name>', momentum=0.996,
            ...)`` with the other keys of :class:`~mmssl.models.utils.TeacherEMA` (``type``
            defaults to it). Built by :meth:`build_teacher`, which subclasses call once the
            student module exists.
        init_cfg: MMEngine init config.
    """

    def __init__(
        self,
        data_preprocessor: dict | None = None,
        target_generator: dict | None = None,
        teacher: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.target_generator = None
        if target_generator is not None:
            self.target_generator = MODELS.build(target_generator)
            self.target_generator.requires_grad_(False)
            self.target_generator.eval()
            self._register_state_dict_hook(_drop_target_generator)
            self._register_load_state_dict_pre_hook(self._keep_target_generator)
        self._teacher_cfg = dict(teacher) if teacher is not None else None
        self.teacher = None

    # ------------------------------------------------------------------ slots
    def build_teacher(self) -> None:
        """Build the EMA teacher of the configured student module (no-op without ``teacher``).

        Raises:
            AttributeError: the configured ``source`` is not a submodule of this model.
        """
        if self._teacher_cfg is None or self.teacher is not None:
            return
        cfg = dict(self._teacher_cfg)
        source = cfg.pop('source')
        cfg.setdefault('type', 'TeacherEMA')
        self.teacher_source = source
        self.teacher = MODELS.build(cfg, default_args=dict(model=self.get_submodule(source)))

    def update_teacher(self) -> None:
        """One EMA step of the teacher from its student (after the optimizer step)."""
        if self.teacher is None:
            raise RuntimeError(f'{type(self).__name__} has no EMA teacher (set teacher=dict(source=...))')
        self.teacher.update_parameters(self.get_submodule(self.teacher_source))

    @torch.no_grad()
    def generate_targets(self, *args, **kwargs) -> Any:
        """Run the frozen ``target_generator`` under ``no_grad``."""
        if self.target_generator is None:
            raise RuntimeError(f'{type(self).__name__} has no target_generator')
        return self.target_generator(*args, **kwargs)

    def train(self, mode: bool = True) -> BaseSelfSupervisor:
        """Set the training mode; the target generator and the teacher stay in eval mode."""
        super().train(mode)
        if self.target_generator is not None:
            self.target_generator.eval()
        return self

    def _keep_target_generator(self, state_dict: dict, prefix: str, *args) -> None:
        """Load pre-hook: a state dict without the frozen generator keeps the current weights."""
        for key, value in self.target_generator.state_dict().items():
            state_dict.setdefault(prefix + TARGET_GENERATOR_PREFIX + key, value)

    # ------------------------------------------------------------------ modes
    def forward(self, inputs: Dict[str, Any], data_samples: List | None = None, mode: str = 'tensor'):
        """Dispatch on ``mode``: ``'loss'`` -> :meth:`loss`, ``'tensor'`` ->
        :meth:`extract_feat`, ``'predict'`` -> :meth:`predict`."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"{type(self).__name__}: mode must be 'loss', 'tensor' or 'predict', got {mode!r}")

    @abstractmethod
    def extract_feat(self, inputs: Dict[str, Any], data_samples: List | None = None) -> Any:
        """Embed the (masked) inputs with the encoders to be transferred."""

    @abstractmethod
    def loss(self, inputs: Dict[str, Any], data_samples: List) -> Dict[str, Tensor]:
        """Self-supervised losses (keys with ``'loss'``) and diagnostics (keys without)."""

    def predict(self, inputs: Dict[str, Any], data_samples: List) -> List:
        """Pre-training algorithms have no detection output; subclasses may render here."""
        raise RuntimeError(
            f'{type(self).__name__} is a pre-training algorithm without a '
            'predict mode; fine-tune a detector from its checkpoint instead'
        )

    #: ``get_ssl_target(data_samples, key, required=True)``: see :func:`mmssl.models.utils.get_ssl_target`.
    get_ssl_target = staticmethod(get_ssl_target)


def _drop_target_generator(module, state_dict: dict, prefix: str, local_metadata) -> None:
    """State-dict hook: the frozen target generator is not saved."""
    for key in [k for k in state_dict if k.startswith(prefix + TARGET_GENERATOR_PREFIX)]:
        del state_dict[key]
