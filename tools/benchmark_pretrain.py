"""What does pre-training cost? Step time and peak memory of pre-training configs.

    python tools/benchmark_pretrain.py --configs configs/nsmae_bevfusion_tiny.py --iters 10 \
        [--warmup 3] [--out work_dirs/pretrain_cost.json]

For each pre-training config, and for the supervised config of the same downstream model (the
pre-training config's ``downstream_config`` variable, or ``--supervised``), a worker process
(mmssl/benchmarks/step_cost.py) times ``train_step`` (forward + backward + optimizer) on the
same first batch of the data after warm-up. Printed: median step time, peak memory (CUDA max
allocated, or the worker's peak RSS on the CPU), and the ratio of each pre-training step to
the supervised step. On a shared CPU compare ratios; absolute times drift with the load.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_worker(config: str, iters: int, warmup: int, batch_size: int | None = None) -> dict:
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
        + (['--cfg-options', json.dumps({'train_dataloader.batch_size': batch_size})] if batch_size else []),
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
    parser.add_argument('--out', default='work_dirs/benchmark_pretrain.json')
    args = parser.parse_args()

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
            supervised_cache[key] = run_worker(supervised, args.iters, args.warmup, batch)
        print(f'measuring {config} (batch {batch}) ...', flush=True)
        row = run_worker(config, args.iters, args.warmup, batch)
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
    Path(args.out).write_text(json.dumps(dict(rows=rows, supervised=supervised_rows), indent=2))
    print(f'written {args.out}')


if __name__ == '__main__':
    main()
