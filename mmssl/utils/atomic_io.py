"""Atomic file writes for checkpoints (temporary file + ``os.replace``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(data: bytes, filepath: str | Path) -> None:
    """Write ``data`` to ``filepath`` so that the file exists either whole or not at all.

    The bytes go to a temporary file in the same folder, are flushed and fsync'ed, and the
    file is renamed over ``filepath`` (atomic on POSIX within one file system).
    """
    filepath = Path(filepath)
    filepath.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=filepath.parent, prefix=f'.{filepath.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
