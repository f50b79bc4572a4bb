"""Keep every random generator's state in checkpoints, so a resumed run continues exactly.

MMEngine's checkpoints hold the model, optimizer, schedulers, message hub and the iteration
counter, and on resume the iteration-based loop replays the dataloader to the saved position;
they hold no generator state. A model that draws masks or rays from torch's global generator
(NS-MAE) then continues on another random stream than the uninterrupted run.
:class:`RNGStateHook` writes the generators' states (:mod:`mmssl.utils.rng`) into every
checkpoint (``checkpoint['rng_state']``) and restores them on ``--resume``.

When they are restored matters: the iteration-based loop fetches ``k`` batches to fast-forward
the dataloader and then fetches batch ``k + 1`` *before* any ``before_train_iter`` hook runs.
With ``num_workers=0`` the data pipeline draws from the same global generators, so the states
are put back right before that fetch of batch ``k + 1`` (the hook wraps the loop's dataloader
iterator for the first ``k + 1`` fetches); the uninterrupted run fetched batch ``k + 1`` with
exactly the state saved with checkpoint ``k``. With dataloader workers, each worker is seeded by
MMEngine's ``worker_init_fn`` and the fast-forward replays its calls, so the workers' streams
match as well. For the epoch-based loop (checkpoints at epoch ends) the states are restored in
the first ``before_train_epoch``, before the epoch's dataloader iterator is created.

Validation draws from the same generators (dataloader iterator seeds, random test-time
transforms). A resumed run does not repeat the validation that followed the checkpoint, so the
hook saves the states before each validation and puts them back after it: validation never
shifts the training stream, with or without an interruption.

Distributed runs: only rank 0 writes the checkpoint, so every rank's state is gathered to it
(``all_gather_object``) at the iterations/epochs where the ``CheckpointHook`` saves; each rank
restores its own entry. A checkpoint of another world size restores nothing (warned).
"""

from __future__ import annotations

import logging
from typing import Any

from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log

from mmssl.registry import HOOKS
from mmssl.utils.rng import capture_rng_state, owned_generators, restore_rng_state

RNG_STATE_KEY = 'rng_state'


class _RestoreBeforeFetch:
    """Iterator proxy that calls ``restore`` right before fetch number ``skip + 1``."""

    def __init__(self, iterator: Any, skip: int, restore) -> None:
        self._iterator = iterator
        self._remaining = skip
        self._restore = restore

    def __iter__(self):
        return self

    def __next__(self):
        if self._remaining == 0:
            self._restore()
        self._remaining -= 1
        return next(self._iterator)

    def __getattr__(self, name: str):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random generators' states into checkpoints and restore them on resume.

    Args:
        owned: Also save generators that the model (and its sub-modules) or the training
            dataset's pipeline own as attributes (``torch.Generator``, ``np.random.Generator``,
            ``np.random.RandomState``); those of dataloader worker processes are not reachable
            and are replayed by the dataloader fast-forward instead.
        isolate_val: Save the states before validation and restore them after it, so
            validation never moves the training stream (see the module docstring).
    """

    # Just before MMEngine's CheckpointHook (VERY_LOW = 90) in after_train_iter/epoch.
    priority = 89

    def __init__(self, owned: bool = True, isolate_val: bool = True) -> None:
        self.owned = owned
        self.isolate_val = isolate_val
        self._pending: dict | None = None
        self._gathered: list | None = None
        self._before_val: dict | None = None

    # -- what is saved ------------------------------------------------------------------------
    def _owned(self, runner) -> list:
        if not self.owned:
            return []
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        roots: list = [('model', model)]
        loop = getattr(runner, '_train_loop', None)  # never build a loop that is still a config
        loader = None if loop is None or isinstance(loop, dict) else getattr(loop, 'dataloader', None)
        dataset = getattr(loader, 'dataset', None)
        while dataset is not None and not hasattr(dataset, 'pipeline') and hasattr(dataset, 'dataset'):
            dataset = dataset.dataset  # dataset wrappers (CBGS, RepeatDataset)
        if dataset is not None and hasattr(dataset, 'pipeline'):
            roots.append(('train_pipeline', dataset.pipeline))
        return list(owned_generators(roots))

    def _training_state(self, runner) -> dict:
        """The training stream's state now (the pre-validation one while validating)."""
        if self._before_val is not None:
            return self._before_val
        return capture_rng_state(self._owned(runner))

    def _saves_now(self, runner, by_epoch: bool) -> bool:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and bool(hook.by_epoch) == by_epoch:
                if by_epoch:
                    return bool(
                        hook.every_n_epochs(runner, hook.interval, hook.save_begin)
                        or (hook.save_last and hook.is_last_train_epoch(runner))
                    )
                return bool(
                    hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
                    or (hook.save_last and hook.is_last_train_iter(runner))
                )
        return False

    def _gather_if_saving(self, runner, by_epoch: bool) -> None:
        if get_world_size() > 1 and self._saves_now(runner, by_epoch):
            self._gathered = all_gather_object(self._training_state(runner))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._gather_if_saving(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_saving(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add ``rng_state = dict(world_size, ranks=[state of rank 0, 1, ...])``."""
        world_size = get_world_size()
        if world_size > 1:
            if self._gathered is None:
                print_log(
                    'RNGStateHook: checkpoint saved outside the CheckpointHook schedule; it keeps no '
                    'generator state of the other ranks, so a resume from it is not exact',
                    logger='current',
                    level=logging.WARNING,
                )
                return
            ranks, self._gathered = self._gathered, None
        else:
            ranks = [self._training_state(runner)]
        checkpoint[RNG_STATE_KEY] = dict(world_size=world_size, ranks=ranks)

    # -- what is restored -----------------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep this rank's saved state for the resumed loop (weights-only loads ignore it)."""
        saved = checkpoint.get(RNG_STATE_KEY)
        if not getattr(runner, '_resume', False):
            return
        if saved is None:
            print_log(
                'RNGStateHook: the resumed checkpoint holds no generator state (written without '
                'this hook); random draws after the resume differ from an uninterrupted run',
                logger='current',
                level=logging.WARNING,
            )
            return
        if saved['world_size'] != get_world_size():
            print_log(
                f'RNGStateHook: checkpoint written by {saved["world_size"]} process(es), resumed with '
                f'{get_world_size()}; generator states are not restored',
                logger='current',
                level=logging.WARNING,
            )
            return
        self._pending = saved['ranks'][get_rank()]

    def _restore(self, runner) -> None:
        state, self._pending = self._pending, None
        if state is None:
            return
        for note in restore_rng_state(state, self._owned(runner)):
            print_log(f'RNGStateHook: {note}', logger='current', level=logging.WARNING)

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if self._pending is None or not hasattr(loop, 'dataloader_iterator'):
            return
        original = loop.dataloader_iterator

        def restore() -> None:
            loop.dataloader_iterator = original
            self._restore(runner)

        loop.dataloader_iterator = _RestoreBeforeFetch(original, runner.iter, restore)

    def before_train_epoch(self, runner) -> None:
        if not hasattr(runner.train_loop, 'dataloader_iterator'):
            self._restore(runner)

    # -- validation leaves the training stream alone --------------------------------------------
    def before_val(self, runner) -> None:
        if self.isolate_val:
            self._before_val = capture_rng_state(self._owned(runner))

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            state, self._before_val = self._before_val, None
            restore_rng_state(state, self._owned(runner))
