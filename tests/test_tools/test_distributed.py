"""Two-process CPU training through MMEngine (gloo): torch.distributed.run and simulated Slurm."""

import subprocess
import sys

import torch

from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.runs import free_port, run_tool, tool_env

TOY = 'tests/data/configs/toy_regression.py'


def _assert_ranks_agree(work_dir):
    states = [torch.load(work_dir / f'state_after_train_rank{r}.pt') for r in (0, 1)]
    start = [torch.load(work_dir / f'state_before_train_rank{r}.pt') for r in (0, 1)]
    for key, value in states[0]['params'].items():
        # DDP broadcasts rank 0's initial weights and all-reduces gradients: same model.
        torch.testing.assert_close(value, states[1]['params'][key], rtol=0, atol=0)
        torch.testing.assert_close(start[0]['params'][key], start[1]['params'][key], rtol=0, atol=0)
    assert states[0]['iter'] == states[1]['iter'] == 8
    assert not torch.equal(start[0]['params']['net.0.weight'], states[0]['params']['net.0.weight'])


def test_torch_distributed_run_two_processes(tmp_path):
    _torchrun(tmp_path, cfg_options=())
    _assert_ranks_agree(tmp_path)
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert "'world_size': 2" in log


def test_simulated_slurm_allocation(tmp_path):
    port = str(free_port())
    procs = []
    for rank in (0, 1):
        env = tool_env(
            SLURM_PROCID=str(rank),
            SLURM_NTASKS='2',
            SLURM_LOCALID=str(rank),
            SLURM_NODELIST='localhost',
            SLURM_JOB_ID='4242',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=port,
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, 'tools/train.py', TOY, '--launcher', 'slurm', '--work-dir', str(tmp_path)],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-5000:]
    _assert_ranks_agree(tmp_path)
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Distributed launcher: slurm' in log


def _torchrun(
    work_dir, *opts, resume=False, cfg_options=('model.noise_std=0.5', 'randomness.diff_rank_seed=True')
):
    """``torch.distributed.run`` of the toy config on 2 CPU processes (by default each rank with
    its own random stream: ``diff_rank_seed``)."""
    options = [*cfg_options, *opts]
    run_tool(
        [
            '-m',
            'torch.distributed.run',
            '--nproc_per_node=2',
            f'--master_port={free_port()}',
            'tools/train.py',
            TOY,
            '--launcher',
            'pytorch',
            '--work-dir',
            str(work_dir),
            *(['--resume'] if resume else []),
            *(['--cfg-options', *options] if options else []),
        ]
    )


def test_two_process_stop_and_resume_is_exact(tmp_path):
    """Both ranks draw noise from their own global generator: rank 0's checkpoint carries every
    rank's generator state (gathered), so the resumed 2-process run matches the uninterrupted one."""
    _torchrun(tmp_path / 'full')
    _torchrun(tmp_path / 'cut', 'train_cfg.max_iters=4')
    _torchrun(tmp_path / 'cut', resume=True)
    full, resumed = (
        torch.load(d / 'iter_8.pth', map_location='cpu') for d in (tmp_path / 'full', tmp_path / 'cut')
    )
    assert resumed['rng_state']['world_size'] == 2 and len(resumed['rng_state']['ranks']) == 2
    assert not torch.equal(
        resumed['rng_state']['ranks'][0]['torch'], resumed['rng_state']['ranks'][1]['torch']
    )
    for key, value in full['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][key], value, rtol=0, atol=0)
    for idx, state in full['optimizer']['state'].items():
        for name, value in state.items():
            torch.testing.assert_close(resumed['optimizer']['state'][idx][name], value, rtol=0, atol=0)
