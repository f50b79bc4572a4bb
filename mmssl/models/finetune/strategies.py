"""Fine-tuning strategies: which parameters of a detector train, chosen in the config.

A detector of the project takes ``finetune_strategy=dict(type=...)`` (built from ``MODELS``)
and applies it at the end of ``__init__``, so the structure (LoRA adapters) and the frozen
parameters exist before MMEngine builds the optimizer (whose constructor,
``TrainableOptimWrapperConstructor``, leaves frozen parameters out), and ``tools/test.py``
builds the same structure to load the run's checkpoints.

Strategies (survey ``../shared/papers/000_*.txt``, Sec. 7.1, decision guide: linear probing
under ~200 labelled frames, LoRA for 200-2,000, progressive unfreezing / discriminative learning
rates above; ``../shared/METHOD_FACTS.md`` Sec. 7: SLidR's linear probe trains only the final
layer):

* :class:`FullFinetune`: every parameter trains (the default, today's behaviour);
* :class:`LinearProbe`: only the named head(s) train; the rest is frozen, its batch-norm layers
  stay in eval mode (running statistics frozen) through ``model.train()``;
* :class:`~mmssl.models.finetune.lora.LoRAFinetune`: LoRA adapters (``peft``) on the encoders'
  linear and conv layers, the head trains fully.

Progressive unfreezing (:class:`~mmssl.engine.hooks.ProgressiveUnfreezeHook`) and layer-wise
learning-rate decay (:class:`~mmssl.engine.optimizers.LayerDecayOptimWrapperConstructor`) act on
the optimizer and the schedule, so they sit in the engine, not here.
"""

from __future__ import annotations

from typing import Sequence

from mmengine.logging import print_log
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmssl.registry import MODELS

from .summary import format_summary, trainable_summary

#: Module names of the heads of the project's detectors (BEVFusion/BEVDet: ``bbox_head``,
#: ``seg_head``; MMDet3D's CenterPoint: ``pts_bbox_head``).
DEFAULT_HEADS = ('bbox_head', 'pts_bbox_head', 'seg_head')


def in_modules(name: str, prefixes: Sequence[str]) -> bool:
    """Whether the dotted ``name`` is one of the modules ``prefixes`` or lies inside one."""
    return any(name == p or name.startswith(p + '.') for p in prefixes)


class BaseFinetuneStrategy:
    """Base class: a strategy changes a detector once, after it is built.

    Subclasses override :meth:`apply`; :meth:`after_init_weights` runs at the end of the
    detector's ``init_weights`` (after ``init_from``), :meth:`train` after every
    ``model.train(mode)``.
    """

    def apply(self, model: nn.Module) -> None:
        """Freeze, wrap or mark parameters of ``model`` (called at the end of its ``__init__``)."""

    def after_init_weights(self, model: nn.Module) -> None:
        """Re-establish what weight initialisation may have overwritten (e.g. LoRA's zero init)."""

    def train(self, model: nn.Module, mode: bool) -> None:
        """Called after ``model.train(mode)``; e.g. puts frozen batch-norm layers back in eval."""

    def log_summary(self, model: nn.Module) -> None:
        """Print the trainable-parameter table of ``model``."""
        table = format_summary(trainable_summary(model))
        print_log(f'{type(self).__name__}: trainable parameters per module\n{table}', logger='current')


@MODELS.register_module()
class FullFinetune(BaseFinetuneStrategy):
    """Every parameter trains at the optimizer's learning rate (the default)."""


@MODELS.register_module()
class LinearProbe(BaseFinetuneStrategy):
    """Only the named head modules train; every other parameter is frozen.

    The frozen parts' batch-norm layers are kept in eval mode, so their running statistics do not
    move either (``norm_eval``), also after ``model.train()``. This is SLidR's linear probe
    (``freeze_layers: True``: everything but the final layer frozen, METHOD_FACTS.md Sec. 7) and the
    survey's choice under ~200 labelled frames (Sec. 7.1); here the "final layer" is the
    detector's whole task head (CenterHead's shared conv and task branches), the smallest part
    that maps BEV features to boxes.

    Args:
        trainable: Module names (dotted, relative to the detector) that train; names the
            detector lacks are skipped, but at least one must exist. Default: the project's head
            names (:data:`DEFAULT_HEADS`).
        norm_eval: Keep frozen batch-norm layers in eval mode.
    """

    def __init__(self, trainable: Sequence[str] = DEFAULT_HEADS, norm_eval: bool = True) -> None:
        self.trainable = tuple(trainable)
        self.norm_eval = norm_eval
        self.frozen_norms: list[str] = []

    def _check_trainable(self, model: nn.Module) -> list[str]:
        names = dict(model.named_modules())
        found = [p for p in self.trainable if p in names]
        if not found:
            raise KeyError(
                f'{type(self).__name__}: none of the trainable modules {list(self.trainable)} is in '
                f'{type(model).__name__} (its modules: {[n for n, _ in model.named_children()]})'
            )
        return found

    def freeze(self, model: nn.Module) -> None:
        """Freeze every parameter outside ``trainable`` and record the frozen batch-norm layers."""
        found = self._check_trainable(model)
        for name, param in model.named_parameters():
            param.requires_grad_(in_modules(name, found))
        self.frozen_norms = [
            name
            for name, module in model.named_modules()
            if isinstance(module, _BatchNorm) and not in_modules(name, found)
        ]

    def apply(self, model: nn.Module) -> None:
        self.freeze(model)
        self.log_summary(model)

    def train(self, model: nn.Module, mode: bool) -> None:
        if not (mode and self.norm_eval):
            return
        frozen = set(self.frozen_norms)
        for name, module in model.named_modules():
            if name in frozen:
                module.eval()


class FinetuneStrategyMixin:
    """Gives a detector the ``finetune_strategy`` argument.

    Mixed in before the detector's base class; the detector calls
    :meth:`init_finetune_strategy` at the end of ``__init__`` and
    :meth:`finetune_after_init_weights` at the end of ``init_weights``.
    """

    finetune_strategy: BaseFinetuneStrategy | None = None

    def init_finetune_strategy(self, cfg: dict | BaseFinetuneStrategy | None) -> None:
        """Build ``cfg`` (default :class:`FullFinetune`) and apply it to this detector."""
        if cfg is None:
            strategy = FullFinetune()
        elif isinstance(cfg, BaseFinetuneStrategy):
            strategy = cfg
        else:  # mmssl's registry whatever the scope building the detector (e.g. mmdet3d's)
            with MODELS.switch_scope_and_registry('mmssl') as registry:
                strategy = registry.build(cfg)
        if not isinstance(strategy, BaseFinetuneStrategy):
            raise TypeError(
                f'finetune_strategy must build a BaseFinetuneStrategy, got {type(strategy).__name__}'
            )
        self.finetune_strategy = strategy
        strategy.apply(self)

    def finetune_after_init_weights(self) -> None:
        if self.finetune_strategy is not None:
            self.finetune_strategy.after_init_weights(self)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.finetune_strategy is not None:
            self.finetune_strategy.train(self, mode)
        return self
