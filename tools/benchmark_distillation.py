"""BEVDistill's benchmark: LiDAR teachers, camera students with and without distillation.

Example (CPU, the ``cpu`` preset's 110-scene synthetic world; mmssl/benchmarks/distillation.py)::

    python tools/benchmark_distillation.py --preset cpu --out work_dirs/bevdistill_cpu \
        --fractions 0.1,1.0 --seeds 0,1,2 --finetune-iters 300 --teacher-iters 400 --combine occfeat

Steps: the tiny CenterPoint teacher at each fraction and at 100% (seed 0), the tiny BEVDet
student without distillation, then with BEVDistill from the teacher of the same fraction
(``matched``) and from the 100% teacher (``t100``), and (``--combine``) a pre-trained student
with and without BEVDistill. Interrupted runs resume. Reports: OUT/results.md, OUT/results.json.
"""

import argparse
from pathlib import Path

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.distillation import DistillationBenchmark


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(',') if x]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(',') if x]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='BEVDistill benchmark: LiDAR teacher -> camera student')
    parser.add_argument('--preset', default='cpu', choices=sorted(PRESETS))
    parser.add_argument('--fractions', type=_floats, default=[0.1, 1.0], help='student label fractions')
    parser.add_argument('--seeds', type=_ints, default=[0, 1, 2], help='student fine-tuning seeds')
    parser.add_argument('--finetune-iters', type=int, default=300, help='iterations of every student run')
    parser.add_argument('--teacher-iters', type=int, default=400, help='iterations of every teacher run')
    parser.add_argument('--combine', help='pre-training method of the bevdet model combined with BEVDistill')
    parser.add_argument('--combine-fractions', type=_floats, default=[0.1])
    parser.add_argument('--data-root', help="dataset root instead of the preset's")
    parser.add_argument('--jobs', type=int, default=2, help='steps run at once')
    parser.add_argument('--threads', type=int, help='OMP threads per step (default: cpu_count // jobs)')
    parser.add_argument('--out', required=True, help='output folder')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if min(args.finetune_iters, args.teacher_iters) < 1:
        raise SystemExit('iteration counts must be positive')
    DistillationBenchmark(
        preset=PRESETS[args.preset],
        fractions=tuple(args.fractions),
        seeds=tuple(args.seeds),
        out=Path(args.out).resolve(),
        finetune_iters=args.finetune_iters,
        teacher_iters=args.teacher_iters,
        combine=args.combine,
        combine_fractions=tuple(args.combine_fractions),
        jobs=args.jobs,
        threads=args.threads,
        data_root=args.data_root,
    ).run()


if __name__ == '__main__':
    main()
