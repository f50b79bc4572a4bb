"""Evaluate an mmssl model (downstream detector / segmenter) with MMDet3D's metrics.

Usage mirrors MMDetection3D's ``tools/test.py``::

    python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--cfg-options k=v ...]
    python -m torch.distributed.run --nproc_per_node N tools/test.py CONFIG CKPT --launcher pytorch
"""

import argparse
import json
import os.path as osp

from mmengine.dist import is_main_process

from mmssl.utils import register_all_modules
from mmssl.utils.atomic_io import atomic_write_bytes
from mmssl.utils.cli import add_runner_args, build_runner, load_config, parse_runner_args


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) an mmssl model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--metrics-json', help='also write the evaluation metrics to this JSON file')
    add_runner_args(parser)
    return parse_runner_args(parser)


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = load_config(args)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg, ('test_dataloader',))
    metrics = runner.test()
    if args.metrics_json and is_main_process():
        atomic_write_bytes(json.dumps(metrics, indent=2, default=float).encode(), args.metrics_json)


if __name__ == '__main__':
    main()
