"""Distributed start-up through MMEngine on machines without CUDA (gloo backend).

MMEngine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device(local_rank)`` for every
launcher, which raises "Found no NVIDIA driver" on a CPU-only machine, and the Runner wraps
the model in DDP with ``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU module. The
launchers stay the standard ones (``torch.distributed.run``, ``srun``); these helpers only
make MMEngine's own initialisation run on the CPU.
"""

from __future__ import annotations

import torch
from mmengine.dist import init_dist


def cpu_distributed_overrides(cfg) -> None:
    """Adapt a config in place for CPU training: gloo backend, DDP without device ids."""
    cfg.setdefault('env_cfg', {})
    cfg.env_cfg.setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def init_dist_cpu(launcher: str, backend: str = 'gloo', **kwargs) -> None:
    """Run MMEngine's ``init_dist`` for ``launcher`` with ``torch.cuda.set_device`` disabled.

    Args:
        launcher: ``'pytorch'``, ``'slurm'`` or ``'mpi'`` (MMEngine's launchers).
        backend: A CPU-capable backend, ``'gloo'`` by default.
        **kwargs: Passed to ``init_dist`` (e.g. ``port`` for Slurm).
    """
    if torch.cuda.is_available():
        raise RuntimeError('init_dist_cpu is for machines without CUDA; use mmengine.dist.init_dist')
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        init_dist(launcher, backend=backend, **kwargs)
    finally:
        torch.cuda.set_device = set_device
