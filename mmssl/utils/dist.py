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


def die_with_launcher(sig: int | None = None) -> bool:
    """Ask the kernel to signal this process when its parent (the launcher) dies (Linux).

    ``torch.distributed.run`` stops its workers when it is interrupted or terminated, but a
    launcher killed with SIGKILL (or by an out-of-memory killer) cannot: its workers would keep
    training, holding the devices, until the job ends. With ``PR_SET_PDEATHSIG`` the kernel
    sends ``sig`` (SIGTERM by default) to the worker as soon as its parent exits.

    Returns:
        Whether the request was made (False off Linux or where ``prctl`` is unavailable).
    """
    import ctypes
    import os
    import signal
    import sys

    if not sys.platform.startswith('linux'):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, int(sig or signal.SIGTERM), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the launcher died before the request took effect
        os.kill(os.getpid(), int(sig or signal.SIGTERM))
    return True
