"""Layer-wise learning-rate decay: the deeper (closer to the input) a layer group, the smaller its lr."""

from __future__ import annotations

import inspect

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from torch import nn

from mmssl.models.finetune import in_modules
from mmssl.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

from .trainable_constructor import TrainableOptimWrapperConstructor


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(TrainableOptimWrapperConstructor):
    """One parameter group per depth, ``lr = base_lr * layer_decay_rate ** depth``.

    ``paramwise_cfg.layers`` lists the model's layer groups from the output to the input: the
    modules of entry ``d`` (dotted module names) have depth ``d``, so the head (entry 0) trains
    at the optimizer's ``lr`` and every step towards the input multiplies it by
    ``layer_decay_rate``. Parameters in no entry get the largest depth, ``len(layers)``. Frozen
    parameters are left out (as :class:`TrainableOptimWrapperConstructor`). The param schedulers
    scale every group by the same factor, so the ratios hold through warm-up and decay. The
    depth, modules, parameter count and lr of each group are printed once, when the optimizer
    is built.

    ScaLR fine-tunes with layer decay 0.95 at 1% and 10% of the labels and 0.99 at 100%
    (``../shared/METHOD_FACTS.md``, Sec. 8, ``configs/downstream``); the survey
    (``../shared/papers/000_*.txt``, Sec. 7.1) recommends discriminative learning rates above
    ~2,000 labelled frames.

    Example::

        optim_wrapper = dict(
            optimizer=dict(type='AdamW', lr=2e-3),
            constructor='LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(
                layer_decay_rate=0.95,
                layers=[['bbox_head', 'seg_head'], ['pts_neck'], ['pts_backbone'], ['fusion_layer'],
                        ['view_transform', 'pts_middle_encoder'], ['img_neck'], ['img_backbone']]))

    Args:
        optim_wrapper_cfg: As MMEngine's ``DefaultOptimWrapperConstructor``.
        paramwise_cfg: ``dict(layers=[[module, ...], ...], layer_decay_rate=0.95)``; no other
            key (MMEngine's per-parameter options are not combined with the decay).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        cfg = dict(paramwise_cfg or {})
        layers = cfg.pop('layers', None)
        rate = float(cfg.pop('layer_decay_rate', 0.95))
        if cfg:
            raise KeyError(f'LayerDecayOptimWrapperConstructor: unknown paramwise_cfg keys {sorted(cfg)}')
        if not layers:
            raise ValueError('LayerDecayOptimWrapperConstructor needs paramwise_cfg.layers (head first)')
        if not 0 < rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {rate}')
        super().__init__(optim_wrapper_cfg, None)
        self.layers: list[list[str]] = [
            [layer] if isinstance(layer, str) else list(layer) for layer in layers
        ]
        self.layer_decay_rate = rate

    def depth(self, name: str) -> int:
        """Depth of the parameter ``name``: index of the first entry of ``layers`` holding it."""
        return next(
            (d for d, modules in enumerate(self.layers) if in_modules(name, modules)), len(self.layers)
        )

    def param_groups(self, model: nn.Module) -> list[dict]:
        """The optimizer's parameter groups, one per depth that has trainable parameters.

        Returns:
            ``dict(params, lr, depth)`` per group, by depth.
        """
        base_lr = float(self.optimizer_cfg['lr'])
        by_depth: dict[int, list] = {}
        for name, param in model.named_parameters():
            if param.requires_grad:
                by_depth.setdefault(self.depth(name), []).append(param)
        return [
            dict(params=params, lr=base_lr * self.layer_decay_rate**d, depth=d)
            for d, params in sorted(by_depth.items())
        ]

    def __call__(self, model: nn.Module) -> OptimWrapper:
        model = model.module if is_model_wrapper(model) else model
        groups = self.param_groups(model)
        lines = [
            f'layer-wise lr decay {self.layer_decay_rate}: lr = {self.optimizer_cfg["lr"]:g} * decay^depth'
        ]
        for group in groups:
            modules = self.layers[group['depth']] if group['depth'] < len(self.layers) else ['<other>']
            count = sum(p.numel() for p in group['params'])
            lines.append(
                f'  depth {group["depth"]}: lr {group["lr"]:.3e}, {count:,} params, {", ".join(modules)}'
            )
        print_log('\n'.join(lines), logger='current')
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            optimizer_cls = OPTIMIZERS.get(optimizer_cls)
        optimizer_cfg[next(iter(inspect.signature(optimizer_cls).parameters))] = groups
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
