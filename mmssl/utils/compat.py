"""Documented work-arounds for known bugs of the pinned stack (see ../shared/STACK.md).

Each patch is applied once by :func:`apply_compat_patches` (called on ``import mmssl``),
is a no-op where the library it fixes is absent (the GPU benchmark machine has torch only),
and is covered by a test in ``tests/test_utils/test_compat.py``.

1. spconv 2.3.8, CPU backward: every sparse conv's backward calls
   ``spconv.pytorch.ops.get_current_stream()``, i.e. ``torch.cuda.current_stream()``, which
   raises "Found no NVIDIA driver" on a machine without CUDA. On such a machine the stream
   handle is 0 (the CPU kernels ignore it).
2. mmengine 0.10.7 with torch >= 2.6: ``torch.load`` defaults to ``weights_only=True`` and
   rejects the numpy objects and MMEngine types a Runner writes into its own checkpoints
   (``UnpicklingError: Weights only load failed``). Rather than turning safety off, the
   types MMEngine writes are allow-listed with ``torch.serialization.add_safe_globals``;
   anything else in a file still fails to load. MMEngine's ``HistoryBuffer`` also pickles its
   built-in statistics functions (``min``/``max``/``current``/``mean``) by reference through
   ``builtins.getattr``, a global that must never be allow-listed (it opens arbitrary
   attribute access); the patch leaves those four out of the pickled state (every new
   ``HistoryBuffer`` registers them again) and keeps user-registered methods in it.
3. Atomic checkpoint writes: MMEngine's local file backend writes a checkpoint in place, so a
   run killed mid-write leaves a truncated ``.pth``. The local backend is replaced by one
   that writes to a temporary file in the same folder and renames it (``os.replace``), so a
   checkpoint file either exists whole or not at all (with mode ``0666 & ~umask``, not ``0600``).
   MMEngine's ``CheckpointHook`` also deletes the oldest checkpoint *before* writing the new one
   and writes ``last_checkpoint`` in place: with ``max_keep_ckpts=1`` a kill in between leaves
   ``last_checkpoint`` naming a deleted file. Its rotation is reordered (write the new file,
   point ``last_checkpoint`` at it atomically, then delete the oldest) and the temporary files of
   interrupted writes are removed when a run starts (``atomic_io.install_safe_checkpoint_rotation``).
4. spconv 2.3.8, CPU forward/backward race: the CPU gather-GEMM-scatter of ``indice_conv``
   runs on the OpenMP pool torch shares with it and, with more than one thread, a regular
   (non-submanifold) ``SparseConv3d`` sometimes returns wrong sums at a few output voxels
   (measured here: 4 of 300 calls on a 2-core machine, up to 0.29 off; 0 of 600 with one
   thread). The patch runs spconv's CPU conv and pooling kernels with one torch thread and
   restores the caller's thread count afterwards; CUDA tensors take the unpatched path.
5. mmdet3d 1.4.0, ``KittiMetric`` without CUDA: the KITTI evaluation computes rotated BEV/3D
   overlaps with ``rotate_iou_gpu_eval``, a numba CUDA kernel ("CUDA driver library cannot be
   found" on a CPU machine). Where CUDA is unavailable the kernel is replaced by
   :func:`mmssl.evaluation.functional.kitti_rotate_iou_cpu` (mmcv's CPU rotated IoU, same
   signature and convention; tested against polygon clipping and end to end on a real frame).
6. mmengine 0.10.7, ``OneCycleParamScheduler`` (``OneCycleLR``, the paper schedule of the
   full-size configs) with torch >= 2.6: its ``state_dict`` holds ``anneal_func``, a static method
   pickled by reference (a global ``weights_only`` rejects), so every checkpoint of a run with
   that schedule fails ``weights_only`` loading and ``--resume`` stops with ``UnpicklingError``.
   The patch saves the annealing strategy's name instead (``'cos'``/``'linear'``) and restores
   the function on load; checkpoints written before the patch still load where ``weights_only``
   is off.
"""

from __future__ import annotations

import importlib.util

_APPLIED = False


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def patch_spconv_cpu_backward() -> bool:
    """Make spconv's backward pass run without a CUDA driver. Returns whether it patched."""
    if not _has('spconv'):
        return False
    import torch

    try:
        import spconv.pytorch.ops as spconv_ops
    except Exception:  # spconv installed but not importable (e.g. no cumm): leave it be
        return False
    original = getattr(spconv_ops, '_mmssl_original_get_current_stream', None)
    if original is None:
        original = spconv_ops.get_current_stream
        spconv_ops._mmssl_original_get_current_stream = original

    def get_current_stream() -> int:
        if torch.cuda.is_available():
            return original()
        return 0

    spconv_ops.get_current_stream = get_current_stream
    return True


_SPCONV_CPU_SERIAL_OPS = (
    'indice_conv',
    'indice_conv_backward',
    'indice_maxpool',
    'indice_maxpool_backward',
)


def patch_spconv_cpu_threads() -> bool:
    """Run spconv's CPU conv/pool kernels single-threaded (see item 4). Returns whether it patched."""
    if not _has('spconv'):
        return False
    import functools

    import torch

    try:
        import spconv.pytorch.ops as spconv_ops
    except Exception:  # spconv installed but not importable: leave it be
        return False

    def serialised(fn):
        @functools.wraps(fn)
        def wrapper(features, *args, **kwargs):
            if features.is_cuda:
                return fn(features, *args, **kwargs)
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return fn(features, *args, **kwargs)
            finally:
                torch.set_num_threads(threads)

        wrapper._mmssl_serialised = True
        return wrapper

    for name in _SPCONV_CPU_SERIAL_OPS:
        fn = getattr(spconv_ops, name)
        if not getattr(fn, '_mmssl_serialised', False):
            setattr(spconv_ops, name, serialised(fn))
    return True


_KITTI_ROTATE_IOU = 'mmdet3d.evaluation.functional.kitti_utils.rotate_iou'


def patch_kitti_rotate_iou_cpu() -> bool:
    """Give MMDet3D's KITTI evaluation a CPU rotated IoU (see item 5). Returns whether it patched.

    ``rotate_iou.py`` compiles its CUDA kernel when imported, so without a driver the module
    cannot even be imported; the KITTI evaluation imports it lazily (inside the overlap
    functions), so a module registered under its name beforehand is what it gets.
    """
    if not _has('mmdet3d'):
        return False
    import sys
    import types

    import torch

    if torch.cuda.is_available():
        return False
    if getattr(sys.modules.get(_KITTI_ROTATE_IOU), '_mmssl_cpu', False):
        return True
    from mmssl.evaluation.functional.rotated_iou import kitti_rotate_iou_cpu

    module = types.ModuleType(_KITTI_ROTATE_IOU, 'CPU stand-in installed by mmssl.utils.compat')
    module.rotate_iou_gpu_eval = kitti_rotate_iou_cpu
    module._mmssl_cpu = True
    sys.modules[_KITTI_ROTATE_IOU] = module
    try:
        import mmdet3d.evaluation.functional.kitti_utils as kitti_utils

        kitti_utils.rotate_iou = module
    except Exception:  # the KITTI evaluation itself is not importable: nothing else to do
        pass
    return True


def mmengine_checkpoint_safe_globals() -> list:
    """The types a Runner's checkpoint holds besides tensors (numpy scalars and dtypes)."""
    import numpy as np

    safe: list = [np.dtype, np.ndarray]
    try:  # numpy >= 1.25 keeps the scalar reconstructor here; numpy 2 moved it
        from numpy.core.multiarray import _reconstruct, scalar

        safe += [scalar, _reconstruct]
    except ImportError:  # pragma: no cover - numpy 2
        from numpy._core.multiarray import _reconstruct, scalar

        safe += [scalar, _reconstruct]
    safe += [
        type(np.dtype(t))
        for t in (np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_)
    ]
    if _has('mmengine'):
        from mmengine.logging.history_buffer import HistoryBuffer

        safe.append(HistoryBuffer)
    return safe


def patch_torch_load_safe_globals() -> bool:
    """Allow-list the types MMEngine writes so ``weights_only`` loading accepts them."""
    import torch

    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4: weights_only is off by default
        return False
    add(mmengine_checkpoint_safe_globals())
    return True


def patch_history_buffer_pickling() -> bool:
    """Pickle ``HistoryBuffer`` without its built-in statistics functions (see item 2)."""
    if not _has('mmengine'):
        return False
    from mmengine.logging.history_buffer import HistoryBuffer

    builtin = ('min', 'max', 'current', 'mean')

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}
        custom = {k: v for k, v in self._statistics_methods.items() if k not in builtin}
        if custom:
            state['statistics_methods'] = custom
        return state

    HistoryBuffer.__getstate__ = __getstate__
    return True


def patch_atomic_local_backend() -> bool:
    """Atomic local file writes and crash-safe checkpoint rotation (see item 3)."""
    if not _has('mmengine'):
        return False
    from .atomic_io import install_atomic_local_backend, install_safe_checkpoint_rotation

    install_atomic_local_backend()
    install_safe_checkpoint_rotation()
    return True


def patch_onecycle_state_dict() -> bool:
    """Keep ``OneCycleParamScheduler``'s ``anneal_func`` out of its state dict (item 6)."""
    if not _has('mmengine'):
        return False
    from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler

    functions = {
        'cos': OneCycleParamScheduler._annealing_cos,
        'linear': OneCycleParamScheduler._annealing_linear,
    }
    state_dict, load_state_dict = OneCycleParamScheduler.state_dict, OneCycleParamScheduler.load_state_dict

    def patched_state_dict(self) -> dict:
        state = state_dict(self)
        func = state.pop('anneal_func', None)
        if func is not None:
            state['anneal_strategy'] = next(k for k, f in functions.items() if func is f)
        return state

    def patched_load_state_dict(self, state: dict) -> None:
        state = dict(state)
        strategy = state.pop('anneal_strategy', None)
        load_state_dict(self, state)
        if strategy is not None:
            self.anneal_func = functions[strategy]

    OneCycleParamScheduler.state_dict = patched_state_dict
    OneCycleParamScheduler.load_state_dict = patched_load_state_dict
    return True


def apply_compat_patches() -> None:
    """Apply every patch of this module once."""
    global _APPLIED
    if _APPLIED:
        return
    _APPLIED = True
    patch_spconv_cpu_backward()
    patch_spconv_cpu_threads()
    patch_kitti_rotate_iou_cpu()
    patch_torch_load_safe_globals()
    patch_history_buffer_pickling()
    patch_atomic_local_backend()
    patch_onecycle_state_dict()
