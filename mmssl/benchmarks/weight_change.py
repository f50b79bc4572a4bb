"""How far pre-training moved the encoders: ``||w - w0|| / ||w0||`` per module.

:class:`StartWeightsHook` saves the model's state dict just before the first training
iteration (after weight init: the ``w0`` of the run); :func:`relative_weight_change` compares
it with the final checkpoint for each module prefix (e.g. the encoders a detector takes over,
its ``init_from.prefix_map`` sources). A change of a few percent means the pre-trained
encoder is still close to its random start and fine-tuning will not see much of the
pre-training.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Dict, Iterable

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmssl.registry import HOOKS
from mmssl.utils.atomic_io import atomic_write_bytes

START_WEIGHTS = 'weights_at_start.pth'
BUFFER_SUFFIXES = ('running_mean', 'running_var', 'num_batches_tracked')


@HOOKS.register_module()
class StartWeightsHook(Hook):
    """Save the model's state dict (CPU) to ``work_dir/filename`` before iteration 0.

    A resumed run (``runner.iter > 0``) or an existing file is left alone, so the file always
    holds the weights the run started from.

    Args:
        filename: File name in the work dir.
    """

    priority = 'VERY_LOW'

    def __init__(self, filename: str = START_WEIGHTS) -> None:
        self.filename = filename

    def before_train(self, runner) -> None:
        path = Path(runner.work_dir) / self.filename
        if runner.iter != 0 or path.exists() or not is_main_process():
            return
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(buf.getvalue(), path)


def _weights(state: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    """Floating-point learnable tensors under ``prefix`` (BN statistics excluded)."""
    return {
        k: v
        for k, v in state.items()
        if k.startswith(prefix)
        and torch.is_tensor(v)
        and v.is_floating_point()
        and not k.endswith(BUFFER_SUFFIXES)
    }


def relative_weight_change(
    start: Dict[str, torch.Tensor], end: Dict[str, torch.Tensor], prefixes: Iterable[str]
) -> Dict[str, dict]:
    """``||w - w0||_2 / ||w0||_2`` over all weights of each module prefix.

    Args:
        start: State dict at the start of training (``w0``).
        end: State dict at the end (``w``).
        prefixes: Module key prefixes, e.g. ``'img_backbone.'``.

    Returns:
        ``{prefix: dict(relative_change, norm_start, norm_change, tensors, params)}``; a prefix
        with no weights in ``start`` is left out.

    Raises:
        KeyError: a tensor of ``start`` is missing in ``end`` or has another shape.
    """
    out = {}
    for prefix in prefixes:
        w0 = _weights(start, prefix)
        if not w0:
            continue
        sq0 = sqd = 0.0
        params = 0
        for key, v0 in w0.items():
            if key not in end or tuple(end[key].shape) != tuple(v0.shape):
                raise KeyError(f'weight {key}: missing or reshaped in the final checkpoint')
            v0 = v0.double()
            sq0 += float((v0**2).sum())
            sqd += float(((end[key].double() - v0) ** 2).sum())
            params += v0.numel()
        out[prefix] = dict(
            relative_change=math.sqrt(sqd) / math.sqrt(sq0) if sq0 > 0 else float('nan'),
            norm_start=math.sqrt(sq0),
            norm_change=math.sqrt(sqd),
            tensors=len(w0),
            params=params,
        )
    return out


def checkpoint_weight_change(start_file: str | Path, checkpoint: str | Path, prefixes: Iterable[str]) -> dict:
    """:func:`relative_weight_change` between a saved start state and an MMEngine checkpoint."""
    from mmssl.models.utils import read_state_dict

    start = torch.load(start_file, map_location='cpu', weights_only=True)
    return relative_weight_change(start, read_state_dict(str(checkpoint)), prefixes)
