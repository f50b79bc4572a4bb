"""Crash-safe publishing of a generated dataset folder: build in a staging folder, then rename.

A world is generated into ``<parent>/.<name>.partial-<pid>`` (same file system), its info files
are converted there, a completeness marker :data:`COMPLETE_MARKER` (JSON: the generation
summary) is written last, and only then is the staging folder renamed to ``<parent>/<name>``. A
run killed at any point leaves either no ``<name>`` or the previous complete one, plus a staging
folder that the next run removes. A ``<name>`` folder without the marker (written by an older
version, or by hand) is not a finished world: :func:`world_is_complete` says so and the
generator replaces it.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

from mmssl.utils.atomic_io import atomic_write_bytes

COMPLETE_MARKER = 'WORLD_COMPLETE.json'


def world_is_complete(root: str | Path) -> bool:
    """Whether ``root`` is a published world (its completeness marker exists and parses)."""
    marker = Path(root) / COMPLETE_MARKER
    try:
        json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return True


def staging_dir(out: str | Path) -> Path:
    """A fresh staging folder beside ``out``; stale ones of earlier (killed) runs are removed."""
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f'.{out.name}.partial-*'):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f'.{out.name}.old-*'):
        shutil.rmtree(stale, ignore_errors=True)
    stage = out.parent / f'.{out.name}.partial-{os.getpid()}'
    stage.mkdir()
    return stage


def rebase_paths(obj: Any, old: str, new: str) -> Any:
    """``obj`` (nested dicts/lists/tuples) with every string starting with ``old`` re-rooted at ``new``."""
    if isinstance(obj, str):
        return new + obj[len(old) :] if obj.startswith(old) else obj
    if isinstance(obj, dict):
        return {k: rebase_paths(v, old, new) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(rebase_paths(v, old, new) for v in obj)
    return obj


def rebase_info_files(stage: str | Path, out: str | Path, files: list[str | Path]) -> None:
    """Rewrite paths into ``stage`` held by info files (MMDet3D's converter keeps absolute sweep
    paths) as the paths they will have under ``out`` once published."""
    import mmengine

    old, new = str(Path(stage).absolute()), str(Path(out).absolute())
    for path in files:
        data = rebase_paths(mmengine.load(str(path)), old, new)
        atomic_write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), path)


def publish_world(stage: str | Path, out: str | Path, summary: dict) -> Path:
    """Write the marker into ``stage`` and rename it to ``out`` (replacing an existing ``out``).

    Args:
        stage: The staging folder of :func:`staging_dir`, holding the finished world.
        out: The final dataset root.
        summary: JSON-serialisable content of the marker.

    Returns:
        ``out``.
    """
    stage, out = Path(stage), Path(out).absolute()
    atomic_write_bytes(json.dumps(summary, indent=2, default=str).encode(), stage / COMPLETE_MARKER)
    old = None
    if out.exists() or out.is_symlink():
        old = out.parent / f'.{out.name}.old-{os.getpid()}'
        os.replace(out, old)  # the previous (possibly half-written) world steps aside
    os.replace(stage, out)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()
    return out
