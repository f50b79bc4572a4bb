"""An optimizer-wrapper constructor that leaves frozen parameters out of the optimizer."""

from __future__ import annotations

import inspect

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from mmssl.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """MMEngine's default constructor, but only parameters with ``requires_grad`` are optimised.

    Without ``paramwise_cfg`` MMEngine passes every parameter to the optimizer, frozen ones
    included (a ``target_generator`` or EMA ``teacher`` would then sit in the optimizer state and
    its checkpoints); with ``paramwise_cfg`` it already skips them, so only the first case changes.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if self.paramwise_cfg:
            return super().__call__(model)
        model = model.module if hasattr(model, 'module') else model
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            optimizer_cls = OPTIMIZERS.get(optimizer_cls)
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        optimizer_cfg[first_arg] = [p for p in model.parameters() if p.requires_grad]
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
