"""Stop (or skip) training steps whose loss or gradient is non-finite; never save such weights.

Without a guard a diverging run keeps going: the loss turns ``nan``, every later step writes
``nan`` into the weights, the run exits 0 and its checkpoints (rotated by ``max_keep_ckpts``)
push out the good ones. :class:`DivergenceGuardHook` checks every optimizer step:

* the total loss handed to ``optim_wrapper.backward`` must be finite;
* for plain (fp32/bf16) optimizer wrappers, the total gradient norm must be finite (with
  ``AmpOptimWrapper`` an infinite gradient is an fp16 overflow that the loss scaler skips and
  handles itself, so only the loss is checked there).

A bad step is not applied (the optimizer step is skipped, the gradients are zeroed). Then, in
``after_train_iter`` (before the ``CheckpointHook`` of the same iteration), the run stops with a
:class:`DivergenceError` naming the iteration, the loss terms that are non-finite and the last
good checkpoint, unless ``max_skips`` allows skipping it (logged as a warning; the count is kept
in the message hub, so it survives a resume). As a last line of defence, a checkpoint whose
weights hold a non-finite value is never written (:meth:`before_save_checkpoint` raises).
In distributed runs the decision is all-reduced, so every rank skips or stops together.
"""

from __future__ import annotations

import logging
import math
import os.path as osp
import types
from collections.abc import Mapping

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from mmssl.registry import HOOKS

SKIPS_INFO_KEY = 'divergence_guard_skips'


class DivergenceError(RuntimeError):
    """Training stopped because a loss or gradient norm became non-finite."""


def _total_grad_norm(params: list[torch.Tensor]) -> float:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    norms = torch.stack([torch.linalg.vector_norm(g.detach().float()) for g in grads])
    return float(torch.linalg.vector_norm(norms))


def _wrappers(optim_wrapper) -> list[OptimWrapper]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.optim_wrappers.values())
    return [optim_wrapper]


def _value(v) -> float | None:
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v.detach())
    if isinstance(v, (int, float)):
        return float(v)
    return None


@HOOKS.register_module()
class DivergenceGuardHook(Hook):
    """Refuse non-finite optimizer steps and checkpoints (see the module docstring).

    Args:
        max_skips: How many bad steps a run may skip in total before it stops; 0 (default)
            stops at the first one.
        check_grad_norm: Also check the total gradient norm before each optimizer step (plain
            optimizer wrappers only; one extra pass over the gradients).
        max_named: At most this many parameters with non-finite gradients named in messages.
    """

    priority = 'ABOVE_NORMAL'  # before LoggerHook/CheckpointHook of the same iteration

    def __init__(self, max_skips: int = 0, check_grad_norm: bool = True, max_named: int = 5) -> None:
        if max_skips < 0:
            raise ValueError(f'max_skips must be >= 0, got {max_skips}')
        self.max_skips = int(max_skips)
        self.check_grad_norm = check_grad_norm
        self.max_named = max_named
        self._bad: dict | None = None
        self._loss_finite = True
        self._param_names: dict[str, torch.Tensor] = {}
        self._skips = 0

    # -- wrapping the optimizer wrapper ---------------------------------------------------------
    def before_train(self, runner) -> None:
        # A resumed run continues the count its checkpoint's message hub holds.
        self._skips = (
            int(runner.message_hub.get_info(SKIPS_INFO_KEY, 0)) if getattr(runner, '_resume', False) else 0
        )
        for wrapper in _wrappers(runner.optim_wrapper):
            if getattr(wrapper, '_mmssl_guarded', False):
                continue
            self._guard(wrapper)
            wrapper._mmssl_guarded = True

    def _guard(self, wrapper: OptimWrapper) -> None:
        hook = self
        backward, step = wrapper.backward, wrapper.step
        check_grads = self.check_grad_norm and not isinstance(wrapper, AmpOptimWrapper)

        def guarded_backward(self_, loss: torch.Tensor, **kwargs) -> None:
            hook._loss_finite = hook._loss_finite and bool(torch.isfinite(loss.detach()).all())
            backward(loss, **kwargs)

        def guarded_step(self_, **kwargs) -> None:
            params = [p for g in self_.optimizer.param_groups for p in g['params'] if p.requires_grad]
            grad_norm = _total_grad_norm(params) if check_grads else None
            bad_loss = not hook._loss_finite
            bad_grad = grad_norm is not None and not math.isfinite(grad_norm)
            hook._loss_finite = True
            if get_world_size() > 1:
                flags = torch.tensor([float(bad_loss), float(bad_grad)])
                all_reduce(flags, op='max')
                bad_loss, bad_grad = bool(flags[0]), bool(flags[1])
            if bad_loss or bad_grad:
                names = (
                    [
                        n
                        for n, p in hook._param_names.items()
                        if p.grad is not None and not bool(torch.isfinite(p.grad).all())
                    ]
                    if bad_grad
                    else []
                )
                hook._bad = dict(bad_loss=bad_loss, grad_norm=grad_norm, params=names)
                self_.optimizer.zero_grad()
                return
            step(**kwargs)

        wrapper.backward = types.MethodType(guarded_backward, wrapper)
        wrapper.step = types.MethodType(guarded_step, wrapper)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self._param_names:
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            self._param_names = dict(model.named_parameters())

    # -- deciding after the step ----------------------------------------------------------------
    def _last_good(self, runner) -> str:
        marker = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(marker):
            with open(marker) as f:
                path = f.read().strip()
            return f'the last good checkpoint is {path} (continue with `tools/train.py CONFIG --resume`)'
        return 'no checkpoint was written yet'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        bad, self._bad = self._bad, None
        if bad is None:
            return
        iteration = runner.iter + 1
        terms = []  # the non-finite loss terms; the total ('loss') only if no term is
        if isinstance(outputs, Mapping):
            for key, v in outputs.items():
                value = _value(v)
                if value is not None and not math.isfinite(value) and 'loss' in key:
                    terms.append((key, f'{key}={value}'))
        terms = [t for k, t in terms if k != 'loss'] or [t for _, t in terms]
        what = []
        if bad['bad_loss']:
            what.append(
                'non-finite loss terms: ' + (', '.join(terms) if terms else 'total loss (no term logged)')
            )
        if bad['grad_norm'] is not None and not math.isfinite(bad['grad_norm']):
            named = bad['params'][: self.max_named]
            more = len(bad['params']) - len(named)
            what.append(
                f'gradient norm={bad["grad_norm"]}'
                + (
                    f' (non-finite gradients in {", ".join(named)}'
                    + (f' and {more} more' if more > 0 else '')
                    + ')'
                    if named
                    else ''
                )
            )
        self._skips += 1
        skips = self._skips
        runner.message_hub.update_info(SKIPS_INFO_KEY, skips)  # saved with the checkpoints
        head = f'DivergenceGuardHook: iteration {iteration}: ' + '; '.join(what)
        if skips <= self.max_skips:
            print_log(
                f'{head}. The optimizer step was skipped ({skips} of max_skips={self.max_skips} skips used).',
                logger='current',
                level=logging.WARNING,
            )
            return
        raise DivergenceError(
            f'{head}. The optimizer step was not applied and no checkpoint of this state is written; '
            f'{self._last_good(runner)}. Lower the learning rate or clip gradients '
            '(optim_wrapper.clip_grad), or allow skipping bad steps with '
            'default_hooks.divergence_guard.max_skips=N.'
        )

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to write weights holding NaN/inf."""
        state = checkpoint.get('state_dict', {})
        bad = [
            k
            for k, v in state.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())
        ]
        if bad:
            iteration = checkpoint['meta'].get('iter')
            raise DivergenceError(
                f'DivergenceGuardHook: refusing to save a checkpoint at iteration {iteration}: '
                f'{len(bad)} of {len(state)} weight tensors hold non-finite values '
                f'(first: {bad[: self.max_named]}); '
                f'{self._last_good(runner)}.'
            )
