"""A killed ``tools/dist_train.sh`` launcher takes its workers with it (exec + PR_SET_PDEATHSIG)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.runs import free_port, tool_env

TOY = 'tests/data/configs/toy_regression.py'


def _children(pid: int) -> list[int]:
    try:
        text = Path(f'/proc/{pid}/task/{pid}/children').read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state not in ('Z', 'X')


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux-only')
@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGTERM], ids=['SIGKILL', 'SIGTERM'])
def test_killed_launcher_stops_its_workers(tmp_path, sig):
    env = tool_env(PORT=str(free_port()))
    env['PATH'] = os.pathsep.join([str(Path(sys.executable).parent), env.get('PATH', '')])
    launcher = subprocess.Popen(
        [
            'bash',
            'tools/dist_train.sh',
            TOY,
            '2',
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            'train_cfg.max_iters=100000',
            'train_dataloader.dataset.delay_s=0.05',
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 240
        workers: list[int] = []
        while time.time() < deadline:
            assert launcher.poll() is None, 'the launcher ended before it could be killed'
            workers = _children(launcher.pid)  # `exec`: the bash pid is torch.distributed.run's
            if len(workers) == 2 and all(
                (tmp_path / f'state_before_train_rank{r}.pt').exists() for r in (0, 1)
            ):
                break
            time.sleep(0.2)
        else:
            raise AssertionError('the workers did not start training within the deadline')
        os.kill(launcher.pid, sig)
        killed = time.time()
        while time.time() < killed + 3 and any(_alive(w) for w in workers):
            time.sleep(0.05)
        # Without PR_SET_PDEATHSIG the workers of a SIGKILLed launcher kept training for seconds
        # (until the rendezvous store failed); with it they get SIGTERM at once.
        assert not any(_alive(w) for w in workers), 'workers still running 3 s after their launcher died'
        assert not (tmp_path / 'state_after_train_rank0.pt').exists()  # stopped, not finished
    finally:
        try:
            os.killpg(launcher.pid, signal.SIGKILL)  # the session this test started
        except ProcessLookupError:
            pass
        launcher.wait(timeout=60)
