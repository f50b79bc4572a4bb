"""Print and log how many parameters train, per top-level module, when training starts."""

from __future__ import annotations

import json
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmssl.models.finetune import format_summary, trainable_summary
from mmssl.registry import HOOKS
from mmssl.utils.atomic_io import atomic_write_bytes

SUMMARY_FILE = 'trainable_params.json'


@HOOKS.register_module()
class TrainableParamsHook(Hook):
    """Trainable-parameter count and share of every top-level module, once, before training.

    Runs after the fine-tuning strategy (at build time) and
    :class:`~mmssl.engine.hooks.ProgressiveUnfreezeHook` (``before_train``, higher priority)
    have set ``requires_grad``; prints the table to the run's log and writes it, with the
    iteration, to ``<work_dir>/trainable_params.json`` (list of
    ``dict(module, trainable, total, share)``, last row ``total``).
    """

    priority = 'BELOW_NORMAL'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        rows = trainable_summary(model)
        runner.logger.info(f'trainable parameters at iteration {runner.iter}:\n{format_summary(rows)}')
        if is_main_process():
            record = dict(iter=runner.iter, modules=rows)
            atomic_write_bytes(json.dumps(record, indent=2).encode(), Path(runner.work_dir) / SUMMARY_FILE)
