"""Crash-safe file writes: atomic checkpoints, ordered checkpoint rotation, stale-file cleanup.

* :func:`atomic_write_bytes` writes a temporary file in the target folder, fsyncs it and renames
  it over the target (``os.replace``), so the file exists either whole or not at all; the file
  gets the ordinary mode of a new file (``0666`` less the umask, usually ``0644``), not the
  ``0600`` of :func:`tempfile.mkstemp`.
* :func:`install_atomic_local_backend` makes MMEngine's ``local`` file backend (which writes
  checkpoints) use it.
* :func:`install_safe_checkpoint_rotation` changes the order of MMEngine's ``CheckpointHook``
  from "delete the oldest checkpoint, write the new one, point ``last_checkpoint`` at it" to
  "write the new one, point ``last_checkpoint`` at it (atomically), then delete the oldest", so a
  kill at any moment leaves ``last_checkpoint`` naming a complete file, and removes the temporary
  files of interrupted writes when a run starts.
"""

from __future__ import annotations

import os
import os.path as osp
import tempfile
from pathlib import Path

TMP_SUFFIX = '.tmp'


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(data: bytes, filepath: str | Path) -> None:
    """Write ``data`` to ``filepath`` so that the file exists either whole or not at all.

    The bytes go to a temporary file ``.<name>.<random>.tmp`` in the same folder, are flushed
    and fsync'ed, and the file is renamed over ``filepath`` (atomic on POSIX within one file
    system). The file mode is that of an ordinary new file (``0666 & ~umask``).
    """
    filepath = Path(filepath)
    filepath.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=filepath.parent, prefix=f'.{filepath.name}.', suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), _default_file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_tmp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files (``.<name>.<random>.tmp``) interrupted writes left in ``folder``.

    Call it only when no writer is active in ``folder`` (a run's start, on the main process).

    Returns:
        The files removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.glob(f'.*{TMP_SUFFIX}'):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def install_atomic_local_backend() -> None:
    """Register :class:`AtomicLocalBackend` as MMEngine's ``local`` backend."""
    from mmengine.fileio import register_backend
    from mmengine.fileio.backends import LocalBackend

    class AtomicLocalBackend(LocalBackend):
        """MMEngine's local backend whose ``put``/``put_text`` write atomically."""

        def put(self, obj: bytes, filepath) -> None:
            atomic_write_bytes(obj, filepath)

        def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
            atomic_write_bytes(obj.encode(encoding), filepath)

    register_backend('local', AtomicLocalBackend, force=True, prefixes='')


def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
    """MMEngine 0.10.7's ``CheckpointHook._save_checkpoint_with_step``, reordered (see above)."""
    from mmengine.dist import is_main_process

    outdated = None
    tracked = self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step)
    if tracked:
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
    ckpt_filename = self.filename_tmpl.format(step)
    previous_last = self.last_ckpt
    self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
    hub = runner.message_hub
    previous_info = {k: hub.runtime_info.get(k) for k in ('keep_ckpt_ids', 'last_ckpt')}
    # The checkpoint's own message hub must list it (a resumed run rotates from that list).
    if tracked:
        hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
    hub.update_info('last_ckpt', self.last_ckpt)
    try:
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
    except BaseException:  # nothing written: keep the bookkeeping of the previous checkpoint
        if tracked:
            self.keep_ckpt_ids.pop()
            if outdated is not None:
                self.keep_ckpt_ids.appendleft(outdated)
        self.last_ckpt = previous_last
        for key, value in previous_info.items():
            if value is None:
                hub.runtime_info.pop(key, None)
            else:
                hub.update_info(key, value)
        raise
    if not is_main_process():
        return
    atomic_write_bytes(str(self.last_ckpt).encode(), osp.join(runner.work_dir, 'last_checkpoint'))
    if outdated is not None and outdated != step:
        old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(outdated))
        if self.file_backend.isfile(old):
            self.file_backend.remove(old)
        elif self.file_backend.isdir(old):  # checkpoints saved by deepspeed are directories
            self.file_backend.rmtree(old)


def install_safe_checkpoint_rotation() -> None:
    """Patch MMEngine's ``CheckpointHook``: ordered rotation, stale temporary files removed."""
    from mmengine.dist import is_main_process
    from mmengine.hooks import CheckpointHook

    if getattr(CheckpointHook, '_mmssl_safe_rotation', False):
        return
    original_before_train = CheckpointHook.before_train

    def before_train(self, runner) -> None:
        original_before_train(self, runner)
        if is_main_process():
            folders = {runner.work_dir, self.out_dir}
            for folder in folders:
                if isinstance(folder, str) and '://' not in folder:
                    for path in remove_stale_tmp_files(folder):
                        runner.logger.warning(f'removed {path}, left by an interrupted checkpoint write')

    CheckpointHook._save_checkpoint_with_step = _save_checkpoint_with_step
    CheckpointHook.before_train = before_train
    CheckpointHook._mmssl_safe_rotation = True
