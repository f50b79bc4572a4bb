"""Run the project's command-line tools in subprocesses from tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from .paths import REPO_ROOT


def tool_env(**extra: str) -> dict:
    """Environment for a tool subprocess: repo on PYTHONPATH, one thread, no CUDA probing."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get('PYTHONPATH')]))
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(extra)
    return env


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_tool(args: list[str], timeout: float = 300, check: bool = True, **env: str):
    """Run ``python <args>`` from the repo root; raise with the output if it fails."""
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=tool_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}'
            f'\n--- stderr\n{proc.stderr[-6000:]}'
        )
    return proc


def kill_after_checkpoint(
    args: list[str], work_dir: Path, names: tuple[str, ...], poll: float = 0.05, linger: float = 0.0
) -> None:
    """Start ``python <args>`` (a training run writing to ``work_dir``) and SIGKILL it once its
    latest checkpoint is one of ``names``, ``linger`` seconds later (mid-way through the next
    iterations).

    Raises:
        AssertionError: the run ended before, or no such checkpoint appeared within 240 s.
    """
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while time.time() < deadline:
        ckpt = latest_checkpoint(work_dir)
        if ckpt is not None and ckpt.name in names:
            break
        assert proc.poll() is None, 'training ended before it could be killed'
        time.sleep(poll)
    else:
        proc.kill()
        raise AssertionError(f'no checkpoint {names} in {work_dir} within the deadline')
    time.sleep(linger)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def latest_checkpoint(work_dir: Path) -> Path | None:
    """The checkpoint MMEngine's ``last_checkpoint`` file names, if any."""
    marker = Path(work_dir) / 'last_checkpoint'
    if not marker.exists():
        return None
    return Path(marker.read_text().strip())


def in_process_cfg(cfg):
    """Make a config safe to run several times in one process (returns it).

    MMEngine keeps one visualizer per name for the whole process: a second runner of a config
    with ``visualizer.name='visualizer'`` gets the first one back, still writing to the first
    work dir. A unique name gives each runner its own.
    """
    import uuid

    cfg.visualizer = dict(cfg.get('visualizer') or {}, name=f'visualizer_{uuid.uuid4().hex}')
    return cfg


def import_tool(path: str, name: str | None = None):
    """Import a script of the repository (e.g. ``'tools/probe_features.py'``) as a module.

    Args:
        path: the script, relative to the repository root.
        name: the module name (default: the file's stem); the module is registered under it in
            ``sys.modules`` (dataclasses of the script look their module up there).
    """
    import importlib.util
    import sys

    file = REPO_ROOT / path
    spec = importlib.util.spec_from_file_location(name or file.stem, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
