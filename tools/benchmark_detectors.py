"""Train and test one detector config for an iteration budget; report mAP/NDS over training time.

Example (the tiny detectors on the 40-scene synthetic benchmark world, 100% of its labels)::

    python tools/benchmark_detectors.py projects/CenterPoint/configs/centerpoint_tiny_synthetic.py \
        --iters 600 --out work_dirs/bench_det/centerpoint

Training runs ``tools/train.py`` in a subprocess (the config's own schedule, rescaled to
``--iters``), saving ``--curve-points`` evenly spaced checkpoints; each is then evaluated with
``tools/test.py`` (MMDet3D's nuScenes metric on the world's validation scenes). Printed and
written to ``OUT/results.json``, ``OUT/results.md`` and ``OUT/map_vs_time.png``: mAP, NDS, the
true-positive errors and per-class AP of every checkpoint, the training wall time at which it
was written (from the start of ``tools/train.py``, imports included), the whole training wall
time and the peak resident set size of the largest training process. The world is generated
first (``tools/create_synthetic_nuscenes.py --scenes 40 --samples-per-scene 10``) if
``--data-root`` does not exist. ``--skip-train`` re-evaluates the checkpoints of an earlier run.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import time
from pathlib import Path

from mmssl.benchmarks.steps import run_logged, summarise_nuscenes_metrics
from mmssl.utils.atomic_io import atomic_write_bytes

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The benchmark world of the label-efficiency ``cpu-small`` preset: 40 scenes, 32 train / 8 val.
WORLD_ARGS = ('--scenes', '40', '--samples-per-scene', '10', '--val-ratio', '0.2')
TP_ERRORS = ('mATE', 'mASE', 'mAOE', 'mAVE', 'mAAE')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detector config (e.g. a projects/*/configs/*_tiny_synthetic.py)')
    parser.add_argument('--iters', type=int, required=True, help='training iterations (the budget)')
    parser.add_argument('--out', required=True, help='output folder (work dir, tests, results)')
    parser.add_argument('--data-root', default='data/synthetic-nuscenes-40', help='nuScenes-format root')
    parser.add_argument('--curve-points', type=int, default=3, help='checkpoints evaluated along training')
    parser.add_argument('--lr', type=float, help="peak learning rate instead of the config's")
    parser.add_argument('--batch-size', type=int, help="training batch size instead of the config's")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads', type=int, help="OMP_NUM_THREADS of the train/test processes (default: torch's own)"
    )
    parser.add_argument('--skip-train', action='store_true', help='only evaluate the checkpoints in OUT')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='more key=value config overrides')
    return parser.parse_args(argv)


@functools.cache
def _config(path: str):
    from mmengine.config import Config

    return Config.fromfile(path)


def data_options(data_root: Path, config: str) -> list[str]:
    """Point the train/val/test datasets and evaluators of ``config`` at ``data_root`` (its default
    info files)."""
    from mmssl.benchmarks.steps import evaluator_data_options

    cfg = _config(config)

    root = f'{data_root}/'
    options = [f'train_dataloader.dataset.data_root={root}']
    val = f'{root}nuscenes_infos_val.pkl'
    for key in ('val_dataloader.dataset', 'test_dataloader.dataset'):
        options += [f'{key}.data_root={root}', f'{key}.ann_file={val}']
    for key in ('val_evaluator', 'test_evaluator'):
        options += evaluator_data_options(cfg, key, root, val)
    return options


def checkpoint_iters(iters: int, points: int) -> list[int]:
    """Iterations of the evaluated checkpoints: ``points`` evenly spaced, the last at ``iters``.

    >>> checkpoint_iters(600, 3)
    [200, 400, 600]
    """
    if iters < 1 or points < 1:
        raise ValueError(f'--iters and --curve-points must be positive, got {iters} and {points}')
    points = min(points, iters)
    return sorted({round(iters * (k + 1) / points) for k in range(points)})


def summarise_metrics(metrics: dict) -> dict:
    """mAP, NDS, TP errors (in % / as the devkit's errors) and per-class AP from NuScenesMetric.

    Per-class AP is the mean over the four distance thresholds, as the devkit's mAP
    (:func:`mmssl.benchmarks.steps.summarise_nuscenes_metrics`).

    Raises:
        KeyError: The metrics hold no nuScenes NDS/mAP.
    """
    base = summarise_nuscenes_metrics(metrics)

    def find(name: str):
        return next((float(v) for k, v in metrics.items() if k.rsplit('/', 1)[-1] == name), None)

    return dict(
        mAP=base['mAP'],
        NDS=base['NDS'],
        errors={e: find(e) for e in TP_ERRORS},
        per_class_AP=base['per_class_AP'],
    )


def lr_options(config: str, lr: float) -> list[str]:
    """Overrides that set the peak learning rate: the optimizer's, and ``eta_max`` of one-cycle
    schedulers (MMEngine's ``OneCycleLR`` takes its peak from ``eta_max``, not the optimizer)."""
    options = [f'optim_wrapper.optimizer.lr={lr}']
    schedulers = _config(config).get('param_scheduler') or []
    schedulers = [schedulers] if isinstance(schedulers, dict) else schedulers
    for i, sched in enumerate(schedulers):
        if 'OneCycle' in str(sched.get('type', '')):
            options.append(f'param_scheduler.{i}.eta_max={lr}')
    return options


def train(args: argparse.Namespace, work_dir: Path, data_root: Path, iters: list[int]) -> dict:
    """Run ``tools/train.py``; returns wall time, peak RSS and the write time of each checkpoint."""
    interval = iters[0] if len(iters) == 1 else iters[1] - iters[0]
    options = [
        *data_options(data_root, args.config),
        f'train_cfg.max_iters={args.iters}',
        f'train_cfg.val_interval={args.iters + 1}',  # evaluation happens here, per checkpoint
        f'default_hooks.checkpoint.interval={interval}',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=10',
        f'randomness.seed={args.seed}',
    ]
    if args.lr is not None:
        options += lr_options(args.config, args.lr)
    if args.batch_size is not None:
        options.append(f'train_dataloader.batch_size={args.batch_size}')
    options += args.cfg_options
    start = time.time()
    run_logged(
        ['tools/train.py', args.config, '--work-dir', str(work_dir), '--cfg-options', *options],
        work_dir / 'benchmark.log',
        args.threads,
    )
    wall = time.time() - start
    # ru_maxrss of the children: the largest of every finished descendant (KiB on Linux)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ckpt_times = {}
    for it in iters:
        path = work_dir / f'iter_{it}.pth'
        if not path.exists():
            raise FileNotFoundError(f'training wrote no checkpoint {path} (interval {interval})')
        ckpt_times[it] = path.stat().st_mtime - start
    return dict(train_wall_s=wall, peak_rss_mb=peak_rss_mb, checkpoint_s=ckpt_times, started=start)


def evaluate(args: argparse.Namespace, work_dir: Path, data_root: Path, it: int) -> dict:
    """``tools/test.py`` on checkpoint ``iter_{it}.pth``; returns :func:`summarise_metrics`."""
    test_dir = work_dir / f'test_iter_{it}'
    metrics_file = test_dir / 'metrics.json'
    start = time.time()
    run_logged(
        [
            'tools/test.py',
            args.config,
            str(work_dir / f'iter_{it}.pth'),
            '--work-dir',
            str(test_dir),
            '--metrics-json',
            str(metrics_file),
            '--cfg-options',
            *data_options(data_root, args.config),
            *args.cfg_options,
        ],
        work_dir / 'benchmark.log',
        args.threads,
    )
    return dict(
        iter=it, test_wall_s=time.time() - start, **summarise_metrics(json.loads(metrics_file.read_text()))
    )


def markdown(record: dict) -> str:
    """Results table (one row per checkpoint) and the per-class AP of the last checkpoint."""
    lines = [
        f'# {record["config"]}',
        '',
        f'{record["iters"]} iterations, training wall {record["train_wall_s"] / 60:.1f} min, '
        f'peak RSS {record["peak_rss_mb"]:.0f} MB, data {record["data_root"]}',
        '',
        '| iter | train time (min) | mAP | NDS | ' + ' | '.join(TP_ERRORS) + ' |',
        '|---|---|---|---|' + '---|' * len(TP_ERRORS),
    ]
    for p in record['curve']:
        errors = ' | '.join('-' if p['errors'][e] is None else f'{p["errors"][e]:.3f}' for e in TP_ERRORS)
        lines.append(
            f'| {p["iter"]} | {p["train_s"] / 60:.1f} | {p["mAP"]:.1f} | {p["NDS"]:.1f} | {errors} |'
        )
    last = record['curve'][-1]['per_class_AP']
    lines += ['', '| ' + ' | '.join(last) + ' |', '|' + '---|' * len(last)]
    lines.append('| ' + ' | '.join(f'{v:.1f}' for v in last.values()) + ' |')
    return '\n'.join(lines) + '\n'


def plot(record: dict, path: Path) -> None:
    """mAP and NDS against training wall time (minutes)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    minutes = [p['train_s'] / 60 for p in record['curve']]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(minutes, [p['mAP'] for p in record['curve']], 'o-', label='mAP')
    ax.plot(minutes, [p['NDS'] for p in record['curve']], 's--', label='NDS')
    ax.set_xlabel('training wall time (min)')
    ax.set_ylabel('%')
    ax.set_title(Path(record['config']).stem, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    out = Path(args.out).resolve()
    data_root = (REPO_ROOT / args.data_root).resolve()
    iters = checkpoint_iters(args.iters, args.curve_points)
    if not (data_root / 'nuscenes_infos_train.pkl').exists():
        run_logged(
            ['tools/create_synthetic_nuscenes.py', '--out', str(data_root), *WORLD_ARGS],
            out / 'create_world.log',
            args.threads,
        )
    train_file = out / 'train.json'
    if args.skip_train:
        if not train_file.exists():
            raise FileNotFoundError(f'--skip-train: no earlier run in {out} ({train_file} is missing)')
        trained = json.loads(train_file.read_text())
        trained['checkpoint_s'] = {int(k): v for k, v in trained['checkpoint_s'].items()}
    else:
        trained = train(args, out, data_root, iters)
        atomic_write_bytes(json.dumps(trained, indent=2).encode(), train_file)
    curve = []
    for it in iters:
        point = evaluate(args, out, data_root, it)
        point['train_s'] = trained['checkpoint_s'][it]
        curve.append(point)
        print(
            f'[benchmark-detectors] iter {it}: {point["train_s"] / 60:.1f} min, '
            f'mAP {point["mAP"]:.1f}, NDS {point["NDS"]:.1f}',
            flush=True,
        )
    record = dict(
        config=args.config,
        iters=args.iters,
        data_root=str(data_root),
        threads=args.threads,
        train_wall_s=trained['train_wall_s'],
        peak_rss_mb=trained['peak_rss_mb'],
        curve=curve,
    )
    atomic_write_bytes(json.dumps(record, indent=2).encode(), out / 'results.json')
    table = markdown(record)
    (out / 'results.md').write_text(table)
    plot(record, out / 'map_vs_time.png')
    print(table)
    return record


if __name__ == '__main__':
    main()
