"""Complete MMEngine's recursive ``init_weights`` where plain ``nn`` containers cut it short."""

from __future__ import annotations

import logging

from mmengine.logging import MMLogger, print_log
from mmengine.model import BaseModule
from torch import nn


def init_unreached_modules(model: nn.Module) -> list:
    """Run ``init_weights`` of every ``BaseModule`` the recursive pass did not reach.

    MMEngine's ``BaseModule.init_weights`` recurses only through children that have an
    ``init_weights`` method, so a ``BaseModule`` inside a plain ``nn.ModuleList`` is skipped.
    MMDet3D 1.4's ``CenterHead`` keeps its ``SeparateHead`` task heads in an
    ``nn.ModuleList``, so their heatmap bias is never set to ``init_bias`` (-2.19, CenterPoint,
    Yin et al. 2021, following CornerNet's focal-loss prior) and the initial heatmap loss is
    about 100x too large. Call this after ``model.init_weights()``.

    Returns:
        Names of the modules initialised here.
    """
    done = []
    logger = MMLogger.get_current_instance()
    level = logger.level
    # Each call is a top-level init for MMEngine, which would dump a full parameter table.
    logger.setLevel(logging.WARNING)
    try:
        for name, module in model.named_modules():
            if module is model or not isinstance(module, BaseModule) or module.is_init:
                continue
            if any(name.startswith(prefix + '.') for prefix in done):
                continue
            module.init_weights()
            done.append(name)
    finally:
        logger.setLevel(level)
    if done:
        print_log(f'init_weights completed for modules MMEngine skipped: {done}', logger='current')
    return done
