"""Measure the data pipeline of a config: samples/s and mean milliseconds per transform.

Example (the real nuScenes keyframe, full multimodal pre-training pipeline)::

    python tools/benchmark_pipeline.py configs/_base_/datasets/nus_pretrain_demo.py --samples 20

The dataset is ``train_dataloader.dataset`` (``--split val`` for ``val_dataloader``); every
sample is prepared as the dataset does (``get_data_info`` + deep copy), then each transform of
its pipeline is timed separately, in one process (no dataloader workers). PyTorch runs with
``--threads`` intra-op threads, 1 by default, as in a DataLoader worker process (PyTorch sets 1
thread there); on a busy machine more threads make the many small tensor ops much slower.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections import OrderedDict

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark a dataset pipeline')
    parser.add_argument('config', help='config file')
    parser.add_argument('--samples', type=int, default=10, help='samples to time')
    parser.add_argument('--warmup', type=int, default=1, help='untimed samples run first')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument(
        '--threads', type=int, default=1, help='torch intra-op threads (1 as in a DataLoader worker)'
    )
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value'
    )
    return parser.parse_args(argv)


def benchmark(
    cfg: Config, samples: int, warmup: int = 1, split: str = 'train', progress: bool = True
) -> dict:
    """Time ``samples`` samples of ``cfg.<split>_dataloader.dataset``.

    Returns:
        ``dict(samples=..., seconds=..., samples_per_s=..., transforms=OrderedDict(name ->
        mean ms))``; transform names are ``'<position>:<class name>'``.
    """
    from mmssl.registry import DATASETS
    from mmssl.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmssl'))
    dataset = DATASETS.build(cfg[f'{split}_dataloader']['dataset'])
    transforms = dataset.pipeline.transforms
    names = [f'{i}:{type(t).__name__}' for i, t in enumerate(transforms)]
    totals = OrderedDict((n, 0.0) for n in names)

    def run_one(index: int, timed: bool) -> None:
        results = copy.deepcopy(dataset.get_data_info(index % len(dataset)))
        results['box_type_3d'] = dataset.box_type_3d
        results['box_mode_3d'] = dataset.box_mode_3d
        for name, transform in zip(names, transforms):
            start = time.perf_counter()
            results = transform(results)
            if timed:
                totals[name] += time.perf_counter() - start
            if results is None:
                raise RuntimeError(f'transform {name} returned None for sample {index}')

    for i in range(warmup):
        run_one(i, timed=False)
    bar = ProgressBar(samples) if progress else None
    start = time.perf_counter()
    for i in range(samples):
        run_one(i, timed=True)
        if bar is not None:
            bar.update()
    seconds = time.perf_counter() - start
    return dict(
        samples=samples,
        seconds=seconds,
        samples_per_s=samples / seconds,
        transforms=OrderedDict((n, 1e3 * t / samples) for n, t in totals.items()),
    )


def format_report(report: dict) -> str:
    """A table of mean ms per transform and the throughput."""
    total_ms = sum(report['transforms'].values())
    width = max(len(n) for n in report['transforms'])
    lines = [f'{"transform":<{width}}  {"mean ms":>9}  {"share":>6}']
    for name, ms in report['transforms'].items():
        lines.append(f'{name:<{width}}  {ms:9.2f}  {100 * ms / total_ms:5.1f}%')
    lines.append(f'{"total":<{width}}  {total_ms:9.2f}')
    lines.append(
        f'{report["samples"]} samples in {report["seconds"]:.2f} s: {report["samples_per_s"]:.2f} samples/s'
    )
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    report = benchmark(cfg, args.samples, args.warmup, args.split)
    print('\n' + format_report(report))
    return report


if __name__ == '__main__':
    main()
