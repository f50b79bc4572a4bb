"""Compute accounting for every training run: speed, data time, peak memory, device-hours."""

from __future__ import annotations

import json
import os
import resource
import time

import torch
from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook

from mmssl.registry import HOOKS
from mmssl.utils.atomic_io import atomic_write_bytes

DEVICE_HOURS_KEY = 'compute/device_hours'


def peak_memory_mb() -> float:
    """Peak memory of this process in MiB: CUDA max allocated, else the CPU's max RSS."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.max_memory_allocated() / 2**20
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@HOOKS.register_module()
class ComputeStatsHook(Hook):
    """Log what a training run costs, so a user can say what a pre-training cost.

    After every training iteration it adds these scalars to the message hub (hence to the
    text log and to every visualiser backend through MMEngine's ``LogProcessor``):

    - ``iters_per_sec``: 1 / wall time of the iteration;
    - ``peak_mem_mb``: peak CUDA memory allocated (GPU) or peak resident set size (CPU);
    - ``device_hours``: cumulative wall time x number of devices (processes) / 3600.

    ``data_time`` is already logged by MMEngine's ``IterTimerHook``. The cumulative
    device-hours are stored in the message hub's runtime info, which MMEngine saves in
    every checkpoint, so a resumed run continues the count. At the end of training the
    totals are written to ``<work_dir>/compute.json``. None of the keys contains ``loss``
    (MMEngine would add them to the objective).

    Args:
        summary_file: Name of the JSON summary written in the work dir.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL) writes the iteration's scalars

    def __init__(self, summary_file: str = 'compute.json') -> None:
        self.summary_file = summary_file
        self._last: float | None = None
        self._iters = 0
        self._wall = 0.0

    def before_train(self, runner) -> None:
        self._last = time.perf_counter()
        self._iters = 0
        self._wall = 0.0

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._last is None:
            self._last = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        now = time.perf_counter()
        dt = max(now - (self._last if self._last is not None else now), 1e-9)
        self._last = now
        self._iters += 1
        self._wall += dt
        hub = runner.message_hub
        device_hours = hub.get_info(DEVICE_HOURS_KEY, 0.0) + dt * get_world_size() / 3600.0
        hub.update_info(DEVICE_HOURS_KEY, float(device_hours))
        hub.update_scalar('train/iters_per_sec', 1.0 / dt)
        hub.update_scalar('train/peak_mem_mb', peak_memory_mb())
        hub.update_scalar('train/device_hours', float(device_hours))

    def after_train(self, runner) -> None:
        summary = {
            'iters_this_run': self._iters,
            'wall_s_this_run': round(self._wall, 3),
            'iters_per_sec_mean': round(self._iters / self._wall, 4) if self._wall else None,
            'device_hours_total': runner.message_hub.get_info(DEVICE_HOURS_KEY, 0.0),
            'world_size': get_world_size(),
            'peak_mem_mb': round(peak_memory_mb(), 1),
            'device': 'cuda' if torch.cuda.is_available() else 'cpu',
        }
        runner.logger.info(f'compute summary: {summary}')
        if is_main_process():
            atomic_write_bytes(
                json.dumps(summary, indent=2).encode(), os.path.join(runner.work_dir, self.summary_file)
            )
