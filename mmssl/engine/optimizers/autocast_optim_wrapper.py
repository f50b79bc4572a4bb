"""Mixed precision on any device: bf16/fp16 autocast for CPU and CUDA training."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmssl.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Optimizer wrapper that runs the forward pass under ``torch.autocast``.

    MMEngine's ``AmpOptimWrapper`` refuses to run without a GPU. This wrapper is what
    ``tools/train.py --amp`` selects on a CPU-only machine: bfloat16 autocast on the CPU
    (bf16 has fp32's exponent range, so no loss scaling is needed). On CUDA, ``--amp`` keeps
    MMEngine's ``AmpOptimWrapper`` (fp16 with dynamic loss scaling, or bf16).

    Args:
        dtype: Autocast dtype, ``'bfloat16'`` (default) or ``'float16'``.
        device_type: ``'cpu'`` or ``'cuda'``; ``None`` picks CUDA when available.
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype: str = 'bfloat16', device_type: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'AutocastOptimWrapper: dtype must be bfloat16 or float16, got {dtype!r}')
        self.cast_dtype = getattr(torch, dtype)
        self.device_type = device_type or ('cuda' if torch.cuda.is_available() else 'cpu')

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of the parent plus ``torch.autocast``."""
        with super().optim_context(model), torch.autocast(self.device_type, dtype=self.cast_dtype):
            yield
