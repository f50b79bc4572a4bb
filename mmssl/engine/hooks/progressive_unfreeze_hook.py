"""Progressive unfreezing with discriminative learning rates (ULMFiT-style fine-tuning)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import nn

from mmssl.models.finetune import format_summary, in_modules, trainable_summary
from mmssl.registry import HOOKS


@dataclass(frozen=True)
class UnfreezeGroup:
    """One layer group of :class:`ProgressiveUnfreezeHook`.

    Attributes:
        name: Shown in the log and stored in its optimizer param groups (``unfreeze_group``).
        modules: Dotted module names of the group.
        begin: Iteration (0-based) from which the group trains.
        lr_mult: The group's learning rate as a multiple of the optimizer's.
    """

    name: str
    modules: tuple[str, ...]
    begin: int = 0
    lr_mult: float = 1.0


@HOOKS.register_module()
class ProgressiveUnfreezeHook(Hook):
    """Unfreeze layer groups at given iterations, each at its own learning rate.

    ``before_run`` (after the optimizer and the param schedulers are built, before a resume
    loads their state) splits every optimizer param group by layer group; the new group's
    ``lr`` and ``initial_lr`` are the old ones times the layer group's ``lr_mult``, and every
    param scheduler's ``base_values`` are re-read, so warm-up and decay scale each group by the
    same factor. ``before_train`` sets ``requires_grad`` from the current iteration (0, or the
    resumed one: the group layout and the optimizer state of a resumed run are those it saved);
    ``before_train_iter`` unfreezes a group when its ``begin`` is reached and logs it with the new
    trainable-parameter table. A frozen parameter gets no gradient, so the optimizer leaves it
    (and its weight decay) alone until its group unfreezes. Parameters in no group keep their
    state and the optimizer's lr. The unfrozen group count is logged as ``unfrozen_groups``.

    Defaults of the survey (``../shared/papers/000_*.txt``, Sec. 7.1: progressive unfreezing
    for 2,000-5,000 labelled frames; discriminative rates head 1e-3, last block 1e-4, middle 1e-5,
    early 1e-6) are ``lr_mult`` 1, 0.1, 0.01, 0.001 at an optimizer lr of 1e-3.

    Every parameter of the groups must be in the optimizer (build it with the default
    ``FullFinetune`` strategy); schedulers that keep their own per-group keys (``OneCycleLR``'s
    ``max_lr``) are not scaled.

    Example::

        custom_hooks = [dict(type='ProgressiveUnfreezeHook', groups=[
            dict(name='head', modules=['bbox_head', 'seg_head'], begin=0, lr_mult=1.0),
            dict(name='bev', modules=['pts_backbone', 'pts_neck', 'fusion_layer'], begin=50, lr_mult=0.1),
            dict(name='encoders', modules=['img_backbone', 'img_neck', 'view_transform',
                                           'pts_middle_encoder'], begin=100, lr_mult=0.01)])]

    Args:
        groups: ``dict(name, modules, begin=0, lr_mult=1.0)`` per layer group
            (:class:`UnfreezeGroup`); a parameter belongs to the first group naming one of its
            modules.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, groups: Sequence[dict]) -> None:
        if not groups:
            raise ValueError('ProgressiveUnfreezeHook needs at least one group')
        self.groups = [
            UnfreezeGroup(
                name=str(g['name']),
                modules=tuple(g['modules']),
                begin=int(g.get('begin', 0)),
                lr_mult=float(g.get('lr_mult', 1.0)),
            )
            for g in groups
        ]
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f'ProgressiveUnfreezeHook: group names must be unique, got {names}')
        if any(g.begin < 0 or g.lr_mult <= 0 for g in self.groups):
            raise ValueError('ProgressiveUnfreezeHook: begin must be >= 0 and lr_mult > 0')
        self.unfrozen: set[str] = set()

    @staticmethod
    def _model(runner) -> nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def group_of(self, name: str) -> int | None:
        """Index of the group of parameter ``name`` (None: no group)."""
        return next((i for i, g in enumerate(self.groups) if in_modules(name, g.modules)), None)

    def group_params(self, model: nn.Module) -> list[list[nn.Parameter]]:
        """The parameters of each group."""
        params: list[list[nn.Parameter]] = [[] for _ in self.groups]
        for name, param in model.named_parameters():
            index = self.group_of(name)
            if index is not None:
                params[index].append(param)
        return params

    def before_run(self, runner) -> None:
        if not isinstance(runner.optim_wrapper, OptimWrapper):
            return  # test / val runs (tools/test.py with the training config): no optimizer
        model = self._model(runner)
        optimizer = runner.optim_wrapper.optimizer
        names = {id(p): n for n, p in model.named_parameters()}
        in_optimizer = {id(p) for g in optimizer.param_groups for p in g['params']}
        missing = [n for i, n in names.items() if self.group_of(n) is not None and i not in in_optimizer]
        if missing:
            raise ValueError(
                f'ProgressiveUnfreezeHook: {len(missing)} parameters of its groups are not in the optimizer '
                f'(e.g. {missing[:3]}); they were frozen when it was built (use the FullFinetune strategy)'
            )
        regrouped = []
        for group in optimizer.param_groups:
            buckets: dict[int | None, list] = {}
            for param in group['params']:
                buckets.setdefault(self.group_of(names[id(param)]), []).append(param)
            for index, params in buckets.items():
                mult = 1.0 if index is None else self.groups[index].lr_mult
                new = dict(
                    group, params=params, unfreeze_group=None if index is None else self.groups[index].name
                )
                for key in ('lr', 'initial_lr'):
                    if key in group:
                        new[key] = group[key] * mult
                regrouped.append(new)
        optimizer.param_groups = regrouped
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            raise TypeError('ProgressiveUnfreezeHook supports one optimizer (a list of param schedulers)')
        for scheduler in schedulers:
            key = f'initial_{scheduler.param_name}'
            scheduler.base_values = [g[key] for g in regrouped]
            scheduler._last_value = [g[scheduler.param_name] for g in regrouped]

    def _set_trainable(self, model: nn.Module, index: int, trainable: bool) -> None:
        for param in self.group_params(model)[index]:
            param.requires_grad_(trainable)

    def before_train(self, runner) -> None:
        model = self._model(runner)
        self.unfrozen = set()
        for index, group in enumerate(self.groups):
            trainable = group.begin <= runner.iter
            self._set_trainable(model, index, trainable)
            if trainable:
                self.unfrozen.add(group.name)
        plan = ', '.join(f'{g.name} from iter {g.begin} (lr x {g.lr_mult:g})' for g in self.groups)
        runner.logger.info(
            f'progressive unfreezing: {plan}; trainable at iter {runner.iter}: {sorted(self.unfrozen)}'
        )

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = self._model(runner)
        opened = [
            (i, g)
            for i, g in enumerate(self.groups)
            if g.begin <= runner.iter and g.name not in self.unfrozen
        ]
        for index, group in opened:
            self._set_trainable(model, index, True)
            self.unfrozen.add(group.name)
            lrs = sorted(
                {
                    pg['lr']
                    for pg in runner.optim_wrapper.optimizer.param_groups
                    if pg['unfreeze_group'] == group.name
                }
            )
            runner.logger.info(
                f'progressive unfreezing: group {group.name!r} ({", ".join(group.modules)}) trains from '
                f'iter {runner.iter}, lr {", ".join(f"{lr:.3e}" for lr in lrs)}'
            )
        if opened:
            runner.logger.info(f'trainable parameters:\n{format_summary(trainable_summary(model))}')
        runner.message_hub.update_scalar('train/unfrozen_groups', len(self.unfrozen))
