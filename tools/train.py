"""Train an mmssl model (pre-training or downstream fine-tuning) with an MMEngine Runner.

Usage mirrors MMDetection3D's ``tools/train.py``::

    python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
    python -m torch.distributed.run --nproc_per_node N tools/train.py CONFIG --launcher pytorch
    srun ... python tools/train.py CONFIG --launcher slurm
"""

import argparse
import os.path as osp

import torch
from mmengine.config import Config

from mmssl.utils import register_all_modules
from mmssl.utils.cli import add_runner_args, build_runner, load_config, parse_runner_args
from mmssl.utils.config_check import training_dataloaders


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an mmssl model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        default=None,
        help='autocast dtype (default: float16 on CUDA, bfloat16 on the CPU)',
    )
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale lr by batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in the work dir',
    )
    add_runner_args(parser)
    return parse_runner_args(parser)


def apply_amp(cfg: Config, dtype: str | None) -> None:
    """Switch the optimizer wrapper to mixed precision for the device at hand."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper in ('AmpOptimWrapper', 'AutocastOptimWrapper', 'mmssl.AutocastOptimWrapper'):
        return
    if wrapper != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, got {wrapper!r}')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if dtype:
            cfg.optim_wrapper.dtype = dtype
    else:
        cfg.optim_wrapper.type = 'mmssl.AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = dtype or 'bfloat16'


def build_cfg(args: argparse.Namespace) -> Config:
    cfg = load_config(args)
    if args.amp:
        apply_amp(cfg, args.amp_dtype)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr needs `auto_scale_lr.base_batch_size` in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume: checkpoint {args.resume!r} does not exist')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    build_runner(cfg, training_dataloaders(cfg)).train()


if __name__ == '__main__':
    main()
