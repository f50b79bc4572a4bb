"""What does pre-training cost? Step time and peak memory of pre-training configs.

    python tools/benchmark_pretrain.py --configs configs/nsmae/nsmae_bevfusion_tiny.py --iters 10 \
        [--warmup 3] [--out work_dirs/pretrain_cost.json]

For each pre-training config, and for the supervised config of the same downstream model (the
pre-training config's ``downstream_config`` variable, or ``--supervised``), a worker process
(mmssl/benchmarks/step_cost.py) times ``train_step`` (forward + backward + optimizer) on the
same first batch of the data after warm-up. Printed: median step time, peak memory (CUDA max
allocated, or the worker's peak RSS on the CPU), and the ratio of each pre-training step to
the supervised step. On a shared CPU compare ratios; absolute times drift with the load.

``--cfg-options`` (MMEngine's ``KEY=VALUE`` syntax) applies to every measured config, the
supervised ones included (``--method-cfg-options``: the ``--configs`` only, e.g. BEVDistill's
``model.target_generator.checkpoint=...``; its plain student is its ``downstream_config``);
``--real-keyframe`` points every config's training data at the one real nuScenes keyframe of
../shared/data/nuscenes_demo (for the full-size configs, whose nuScenes data root does not exist
here)::

    python tools/benchmark_pretrain.py --configs configs/nsmae/nsmae_bevfusion.py --real-keyframe \
        --batch-size 1 --iters 3 --warmup 1
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config, DictAction

REPO_ROOT = Path(__file__).resolve().parents[1]


def keyframe_options() -> dict:
    """Training data = the real nuScenes keyframe (file names lie directly in its folder)."""
    from mmssl.testing.paths import require_shared_data

    root = require_shared_data('nuscenes_demo')
    ann_files = sorted(root.glob('*.pkl'))
    if len(ann_files) != 1:
        raise SystemExit(f'{root}: expected one info .pkl, found {len(ann_files)}')
    prefix = 'train_dataloader.dataset.'
    return {
        prefix + 'data_root': str(root) + os.sep,
        prefix + 'ann_file': ann_files[0].name,
        prefix + 'data_prefix': dict(_delete_=True, pts='', sweeps='', img=''),
    }


def run_worker(
    config: str, iters: int, warmup: int, batch_size: int | None = None, options: dict | None = None
) -> dict:
    options = dict(options or {})
    if batch_size:
        options['train_dataloader.batch_size'] = batch_size
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get('PYTHONPATH')]))
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'mmssl.benchmarks.step_cost',
            config,
            '--iters',
            str(iters),
            '--warmup',
            str(warmup),
        ]
        + (['--cfg-options', json.dumps(options)] if options else []),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f'step-cost worker for {config} failed:\n{proc.stderr[-4000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description='Cost of pre-training steps vs the supervised step')
    parser.add_argument('--configs', nargs='+', required=True, help='pre-training configs')
    parser.add_argument(
        '--supervised', help='supervised config to compare with (overrides downstream_config)'
    )
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--batch-size', type=int, help="batch of every config (default: each pre-training config's)"
    )
    parser.add_argument(
        '--real-keyframe',
        action='store_true',
        help='train every config on the real nuScenes keyframe of ../shared/data/nuscenes_demo',
    )
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={}, help='KEY=VALUE overrides for every config'
    )
    parser.add_argument(
        '--method-cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='KEY=VALUE overrides for the --configs only (e.g. a distillation teacher checkpoint)',
    )
    parser.add_argument('--out', default='work_dirs/benchmark_pretrain.json')
    args = parser.parse_args()
    options = dict(keyframe_options() if args.real_keyframe else {}, **args.cfg_options)

    rows, supervised_cache = [], {}
    for config in args.configs:
        pre_cfg = Config.fromfile(config)
        supervised = args.supervised or pre_cfg.get('downstream_config')
        if supervised is None:
            raise SystemExit(f'{config} names no downstream_config; pass --supervised')
        # The same batch size for both steps, so the ratio compares equal inputs.
        batch = args.batch_size or pre_cfg.train_dataloader.batch_size
        key = (supervised, batch)
        if key not in supervised_cache:
            print(f'measuring supervised {supervised} (batch {batch}) ...', flush=True)
            supervised_cache[key] = run_worker(supervised, args.iters, args.warmup, batch, options)
        print(f'measuring {config} (batch {batch}) ...', flush=True)
        row = run_worker(config, args.iters, args.warmup, batch, dict(options, **args.method_cfg_options))
        base = supervised_cache[key]
        row.update(
            supervised_config=supervised,
            supervised_median_step_s=base['median_step_s'],
            supervised_peak_mem_mb=base['peak_mem_mb'],
            ratio_to_supervised=row['median_step_s'] / base['median_step_s'],
        )
        rows.append(row)

    header = (
        f'{"config":45s} {"device":6s} {"step (s)":>9s} {"supervised (s)":>15s} '
        f'{"ratio":>6s} {"peak MiB":>9s}'
    )
    print(header)
    print('-' * len(header))
    for r in rows:
        print(
            f'{Path(r["config"]).name:45s} {r["device"]:6s} {r["median_step_s"]:9.4f} '
            f'{r["supervised_median_step_s"]:15.4f} {r["ratio_to_supervised"]:6.2f} {r["peak_mem_mb"]:9.0f}'
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    supervised_rows = list(supervised_cache.values())
    Path(args.out).write_text(
        json.dumps(dict(rows=rows, supervised=supervised_rows, cfg_options=options), indent=2)
    )
    print(f'written {args.out}')


if __name__ == '__main__':
    main()
