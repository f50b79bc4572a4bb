"""What ``tools/train.py`` and ``tools/test.py`` share: common arguments, config loading, runner."""

from __future__ import annotations

import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

from .config_check import check_config_paths
from .dist import cpu_distributed_overrides, die_with_launcher, init_dist_cpu


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank``, as in MMDet3D."""
    parser.add_argument('--work-dir', help='the dir to save logs, models and results')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher'
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, and export ``LOCAL_RANK`` for launchers that pass it as an argument."""
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(args: argparse.Namespace) -> Config:
    """Read the config, apply ``--cfg-options``, the launcher and the work dir default."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def _run_id() -> str:
    """A name shared by the processes of one run on this node (all ranks of one launch)."""
    if 'TORCHELASTIC_RUN_ID' in os.environ:  # torch.distributed.run: the workers share the agent
        return f'torchrun-{os.getppid()}'
    if 'SLURM_JOB_ID' in os.environ:
        return f'slurm-{os.environ["SLURM_JOB_ID"]}-{os.environ.get("SLURM_STEP_ID", "0")}'
    return f'pid-{os.getpid()}'


def build_runner(cfg: Config, dataloaders: tuple[str, ...]):
    """Check the config's paths, set up CPU distribution if needed, build the runner."""
    from mmengine.runner import Runner

    from mmssl.registry import RUNNERS

    if not torch.cuda.is_available():
        cpu_distributed_overrides(cfg)
    check_config_paths(cfg, dataloaders)
    # Skipped bad samples of every process (ranks, dataloader workers) go to one folder per run,
    # summarised by BadSampleSummaryHook at the end.
    os.environ['MMSSL_BAD_SAMPLE_DIR'] = osp.join(cfg.work_dir, 'bad_samples', _run_id())
    if cfg.launcher == 'pytorch':  # a worker of torch.distributed.run: die with the launcher
        die_with_launcher()
    if cfg.launcher != 'none' and not torch.cuda.is_available():
        init_dist_cpu(cfg.launcher, **cfg.env_cfg.get('dist_cfg', {}))
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
