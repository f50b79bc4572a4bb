"""Evaluate an mmssl model (downstream detector / segmenter) with MMDet3D's metrics.

Usage mirrors MMDetection3D's ``tools/test.py``::

    python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--cfg-options k=v ...]
    python -m torch.distributed.run --nproc_per_node N tools/test.py CONFIG CKPT --launcher pytorch
"""

import argparse
import json
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from mmssl.registry import RUNNERS
from mmssl.utils import register_all_modules
from mmssl.utils.atomic_io import atomic_write_bytes
from mmssl.utils.config_check import check_config_paths
from mmssl.utils.dist import cpu_distributed_overrides, init_dist_cpu


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) an mmssl model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results')
    parser.add_argument('--metrics-json', help='also write the evaluation metrics to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher'
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
    cfg.load_from = args.checkpoint
    if not torch.cuda.is_available():
        cpu_distributed_overrides(cfg)
    check_config_paths(cfg, ('test_dataloader',))
    if args.launcher != 'none' and not torch.cuda.is_available():
        init_dist_cpu(args.launcher, **cfg.env_cfg.get('dist_cfg', {}))
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    metrics = runner.test()
    if args.metrics_json and is_main_process():
        atomic_write_bytes(json.dumps(metrics, indent=2, default=float).encode(), args.metrics_json)


if __name__ == '__main__':
    main()
