"""Does pre-training pay? Fine-tune with a fraction of the labels, with and without pre-training.

Examples (CPU, synthetic world; budgets in ``--list-presets`` and mmssl/benchmarks/presets.py)::

    python tools/benchmark_label_efficiency.py --preset quick --out work_dirs/label_eff_quick   # ~15 min
    python tools/benchmark_label_efficiency.py --preset cpu --out work_dirs/label_eff_cpu       # <= 2 h
    python tools/benchmark_label_efficiency.py --preset cpu --out work_dirs/label_eff_cpu \
        --strategies full,probe,lora,progressive,layer_decay   # fine-tuning strategies, same splits

Interrupted runs resume: finished steps are skipped. See mmssl/benchmarks/label_efficiency.py
and docs/benchmarks-label-efficiency.md.
"""

import argparse
import dataclasses

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.label_efficiency import LabelEfficiencyBenchmark


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(',') if x]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(',') if x]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Label-efficiency benchmark of pre-training methods')
    parser.add_argument('--preset', default='quick', choices=sorted(PRESETS))
    parser.add_argument(
        '--list-presets', action='store_true', help='print every preset and its budget, then exit'
    )
    parser.add_argument('--model', default='bevfusion', help='downstream model of the preset')
    parser.add_argument('--methods', help="comma-separated, e.g. scratch,nsmae (default: the preset's)")
    parser.add_argument('--fractions', type=_floats, help='comma-separated label fractions')
    parser.add_argument('--seeds', type=_ints, help='comma-separated fine-tuning seeds')
    parser.add_argument('--data', choices=['synthetic', 'nuscenes'], help='check the preset uses this data')
    parser.add_argument('--data-root', help="dataset root instead of the preset's")
    parser.add_argument('--split-seed', type=int, default=0, help='seed of the nested scene subsets')
    parser.add_argument('--pretrain-iters', type=int, help="pre-training iterations instead of the preset's")
    parser.add_argument(
        '--finetune-iters', type=int, help="fine-tuning iterations (every fraction) instead of the preset's"
    )
    parser.add_argument('--no-probe', action='store_true', help='skip the feature probe of each method')
    parser.add_argument(
        '--jobs', type=int, help="steps run at once (default: the preset's; cpu/quick: 2, one thread each)"
    )
    parser.add_argument('--threads', type=int, help='OMP threads per step (default: cpu_count // jobs)')
    parser.add_argument(
        '--strategies',
        help='comma-separated fine-tuning strategies, e.g. full,probe,lora,progressive,layer_decay '
        '(default: full; full is always run: the baseline of the paired intervals; docs/finetuning.md)',
    )
    parser.add_argument('--out', help='output folder (results, runs, plot); required unless --list-presets')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.list_presets:
        for preset in PRESETS.values():
            print(f'== {preset.name}\n{preset.description}\n')
        return
    if not args.out:
        raise SystemExit('--out is required')
    preset = PRESETS[args.preset]
    overrides = {
        key: value
        for key, value in (('pretrain_iters', args.pretrain_iters), ('finetune_iters', args.finetune_iters))
        if value is not None
    }
    if any(value < 1 for value in overrides.values()):
        raise SystemExit(f'iteration counts must be positive, got {overrides}')
    if 'finetune_iters' in overrides:
        overrides['finetune_epochs_of_full'] = None  # every fraction: the given iterations
    preset = dataclasses.replace(preset, **overrides)
    if args.data and args.data != preset.data:
        raise SystemExit(f'--data {args.data} but preset {preset.name!r} runs on {preset.data!r}')
    bench = LabelEfficiencyBenchmark(
        preset,
        args.model,
        methods=args.methods.split(',') if args.methods else preset.methods,
        fractions=args.fractions or preset.fractions,
        seeds=args.seeds or preset.seeds,
        out=args.out,
        split_seed=args.split_seed,
        data_root=args.data_root,
        probe=not args.no_probe,
        jobs=args.jobs or preset.jobs,
        threads=args.threads,
        strategies=args.strategies.split(',') if args.strategies else None,
    )
    bench.run()


if __name__ == '__main__':
    main()
