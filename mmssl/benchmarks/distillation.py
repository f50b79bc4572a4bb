"""BEVDistill's benchmark: LiDAR teachers, then camera students with and without distillation.

BEVDistill uses labels twice: the teacher is a LiDAR detector trained on labels, and the dense
term weights the student's features by the ground-truth boxes. So the benchmark says which labels
the teacher saw, in two settings (issue 17):

* ``matched``: the teacher was trained on the same label fraction as the student (the honest
  low-label protocol: nothing outside the fraction was labelled);
* ``t100``: the teacher was trained on 100% of the labels (the paper's setting), for the
  fractions below 1.

Steps, each a :class:`~.label_efficiency.LabelEfficiencyBenchmark` of the same preset in its own
sub-folder of ``OUT`` (the same nested scene splits, made from the same split seed, and the same
fine-tuning schedule and seeds for every student arm; finished steps are skipped on a rerun):

1. ``teacher/``: the preset's ``centerpoint`` model from scratch at every fraction and at 100%,
   seed 0, for ``teacher_iters`` iterations (its own mAP/NDS are reported beside the students);
2. ``student/``: the preset's ``bevdet`` model, no distillation (the baseline arm), and with
   ``combine`` its pre-trained variant (e.g. OccFeat) at ``combine_fractions``;
3. ``distill_matched/`` and ``distill_t100/``: the ``bevdet_distill`` model
   (``configs/bevdistill/bevdistill_bevdet_tiny.py``) with the teacher checkpoint of each
   setting, and with ``combine`` the same pre-trained init + BEVDistill from the ``matched``
   teacher (its pre-training reused from ``student/``).

``OUT/results.md`` and ``results.json``: per arm and fraction the mean and std over seeds, and
the paired differences (same split, same seed) to the camera baseline, and for ``combine`` also
to the pre-trained arm without distillation, with Student-t intervals (:mod:`.stats`).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .label_efficiency import LabelEfficiencyBenchmark
from .presets import SCRATCH, BenchmarkPreset
from .stats import paired_runs
from .steps import log, write_json

TEACHER_MODEL, STUDENT_MODEL, DISTILL_MODEL = 'centerpoint', 'bevdet', 'bevdet_distill'
TEACHER_OPTION = 'model.target_generator.checkpoint={ckpt}'
BASELINE = 'camera'
#: Reported when every run of an arm has them (vehicle IoU: the BEV segmentation head of BEVDet-tiny).
METRICS = ('mAP', 'NDS', 'IoU_vehicle')


@dataclasses.dataclass
class DistillationBenchmark:
    """The BEVDistill benchmark of one preset (module docstring).

    Attributes:
        preset: The protocol (data, splits); its fine-tuning iterations are replaced by
            ``finetune_iters`` (students) and ``teacher_iters`` (teachers).
        fractions: Student label fractions.
        seeds: Student fine-tuning seeds (teachers: seed 0).
        out: Output folder.
        finetune_iters: Iterations of every student run.
        teacher_iters: Iterations of every teacher run.
        combine: A pre-training method of the ``bevdet`` model combined with BEVDistill (None:
            no combined row).
        combine_fractions: Fractions of the combined row.
        jobs, threads: As :class:`LabelEfficiencyBenchmark`.
        data_root: Dataset root instead of the preset's.
    """

    preset: BenchmarkPreset
    fractions: tuple
    seeds: tuple
    out: Path
    finetune_iters: int
    teacher_iters: int
    combine: str | None = None
    combine_fractions: tuple = (0.1,)
    jobs: int = 2
    threads: int | None = None
    data_root: str | None = None

    def _bench(self, iters: int, model: str, methods, fractions, seeds, folder: str, jobs=None, **kwargs):
        preset = dataclasses.replace(self.preset, finetune_iters=iters, finetune_epochs_of_full=None)
        return LabelEfficiencyBenchmark(
            preset,
            model,
            methods=methods,
            fractions=fractions,
            seeds=seeds,
            out=Path(self.out) / folder,
            data_root=self.data_root,
            probe=False,
            jobs=jobs or self.jobs,
            threads=self.threads,
            **kwargs,
        )

    def teacher_fractions(self) -> list[float]:
        return sorted({*map(float, self.fractions), 1.0})

    def run(self) -> dict:
        """Run every step not yet done, then write ``results.md``/``results.json``.

        After the teachers and the camera baseline, two chains run side by side (each with half
        of ``jobs``): the distilled students of both teacher settings, and the combined row's
        pre-training, its plain fine-tunes and its distilled fine-tunes (``matched`` teacher).
        """
        log('BEVDistill benchmark: LiDAR teachers')
        teachers = self._bench(
            self.teacher_iters, TEACHER_MODEL, [SCRATCH], self.teacher_fractions(), [0], 'teacher'
        ).run()
        teacher = {float(r['fraction']): r for r in teachers}
        log('BEVDistill benchmark: camera students without distillation')
        arms: dict[str, list[dict]] = {}
        arms[BASELINE] = self._bench(
            self.finetune_iters, STUDENT_MODEL, [SCRATCH], self.fractions, self.seeds, 'student'
        ).run()
        settings = {'matched': {float(f): float(f) for f in self.fractions}}
        below = [float(f) for f in self.fractions if float(f) < 1.0]
        if below:
            settings['t100'] = {f: 1.0 for f in below}
        kwargs = {name: self.teacher_kwargs(name, of, teacher) for name, of in settings.items()}
        half = max(1, self.jobs // 2)

        def distilled() -> dict:
            out = {}
            for name, teacher_of in settings.items():
                log(f'BEVDistill benchmark: distilled students, teacher setting {name}')
                out[f'bevdistill_{name}'] = self._bench(
                    self.finetune_iters,
                    DISTILL_MODEL,
                    [SCRATCH],
                    list(teacher_of),
                    self.seeds,
                    f'distill_{name}',
                    jobs=half,
                    **kwargs[name],
                ).run()
            return out

        def combined() -> dict:
            if not self.combine:
                return {}
            student = self._bench(
                self.finetune_iters,
                STUDENT_MODEL,
                [self.combine],
                self.combine_fractions,
                self.seeds,
                'student',
                jobs=half,
            )
            out = {self.combine: student.run()}
            log(f'BEVDistill benchmark: {self.combine} + BEVDistill (matched teacher)')
            out[f'{self.combine}+bevdistill_matched'] = self._bench(
                self.finetune_iters,
                DISTILL_MODEL,
                [self.combine],
                self.combine_fractions,
                self.seeds,
                'distill_matched',
                jobs=half,
                pretrained={self.combine: student.pretrain(self.combine)},
                **kwargs['matched'],
            ).run()
            return out

        with ThreadPoolExecutor(max_workers=2) as pool:
            chains = [pool.submit(distilled), pool.submit(combined)]
            for chain in chains:
                arms.update(chain.result())
        return self.write_report(arms, teacher)

    def teacher_kwargs(self, setting: str, teacher_of: dict, teacher: dict) -> dict:
        """The distilled benchmark's per-fraction teacher option and record."""
        return dict(
            fraction_options={
                f: [TEACHER_OPTION.format(ckpt=teacher[t]['checkpoint'])] for f, t in teacher_of.items()
            },
            fraction_records={f: self.teacher_record(setting, teacher[t]) for f, t in teacher_of.items()},
        )

    @staticmethod
    def teacher_record(setting: str, teacher: dict) -> dict:
        """What a distilled run records about its teacher."""
        return dict(
            teacher_setting=setting,
            teacher_fraction=float(teacher['fraction']),
            teacher_checkpoint=teacher['checkpoint'],
            teacher_mAP=teacher['mAP'],
            teacher_NDS=teacher['NDS'],
        )

    def write_report(self, arms: dict[str, list[dict]], teacher: dict[float, dict]) -> dict:
        """Tables of the arms and their paired differences; returns the results dict."""
        rows, diffs = [], []
        for arm, records in arms.items():
            for fraction in sorted({float(r['fraction']) for r in records}):
                group = [r for r in records if float(r['fraction']) == fraction]
                row = dict(arm=arm, fraction=fraction, n=len(group))
                for m in _metrics(group):
                    values = [r[m] for r in group]
                    row[m] = statistics.fmean(values)
                    row[f'{m}_std'] = statistics.stdev(values) if len(values) > 1 else 0.0
                for key in ('teacher_setting', 'teacher_fraction', 'teacher_mAP', 'teacher_NDS'):
                    row[key] = group[0].get(key)
                row['iters_per_sec'] = _mean(r.get('iters_per_sec') for r in group)
                row['peak_mem_mb'] = _mean(r.get('peak_mem_mb') for r in group)
                rows.append(row)
                references = [BASELINE] if arm != BASELINE else []
                if self.combine and arm.startswith(f'{self.combine}+'):
                    references.append(self.combine)
                for ref in references:
                    others = [r for r in arms.get(ref, []) if float(r['fraction']) == fraction]
                    d = paired_runs(
                        group, others, _metrics(group + others), what=f'{arm} and {ref} at {fraction:g}'
                    )
                    if d:
                        diffs.append(dict(arm=arm, reference=ref, fraction=fraction, **d))
        results = dict(
            teachers={f'{f:g}': {m: t[m] for m in _metrics([t])} for f, t in teacher.items()},
            arms=rows,
            paired=diffs,
            finetune_iters=self.finetune_iters,
            teacher_iters=self.teacher_iters,
        )
        out = Path(self.out)
        write_json(out / 'results.json', results)
        (out / 'results.md').write_text(markdown(results))
        log(f'BEVDistill benchmark: reports in {out}')
        return results


def _metrics(records: list[dict]) -> list[str]:
    """The :data:`METRICS` every record has."""
    return [m for m in METRICS if all(r.get(m) is not None for r in records)]


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def markdown(results: dict) -> str:
    """``results.md``: the arms' table and the paired differences (metrics in %)."""
    lines = [
        f'# BEVDistill benchmark ({results["finetune_iters"]} student / '
        f'{results["teacher_iters"]} teacher iterations)',
        '',
        '| teacher trained on | mAP | NDS |',
        '|---|---|---|',
    ]
    for f, t in sorted(results['teachers'].items(), key=lambda kv: float(kv[0])):
        lines.append(f'| {float(f):.0%} | {t["mAP"]:.2f} | {t["NDS"]:.2f} |')
    lines += [
        '',
        '| arm | labels | teacher labels | seeds | mAP | NDS | vehicle IoU | it/s | peak MB |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for r in results['arms']:
        teacher = '-' if r['teacher_fraction'] is None else f'{r["teacher_fraction"]:.0%}'
        cells = [f'{r[m]:.2f} ± {r[m + "_std"]:.2f}' if m in r else '-' for m in METRICS]
        lines.append(
            f'| {r["arm"]} | {r["fraction"]:.0%} | {teacher} | {r["n"]} | {" | ".join(cells)} | '
            f'{_fmt(r["iters_per_sec"])} | {_fmt(r["peak_mem_mb"], 0)} |'
        )
    lines += [
        '',
        '| arm | vs | labels | ΔmAP [95% CI] | ΔNDS [95% CI] | Δvehicle IoU [95% CI] |',
        '|---|---|---|---|---|---|',
    ]
    for d in results['paired']:
        cells = [_interval(d[m]) if m in d else '-' for m in METRICS]
        lines.append(f'| {d["arm"]} | {d["reference"]} | {d["fraction"]:.0%} | {" | ".join(cells)} |')
    return '\n'.join(lines) + '\n'


def _fmt(value, digits: int = 2) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def _interval(d: dict) -> str:
    if d['ci_low'] is None:
        return f'{d["mean"]:+.2f}'
    return f'{d["mean"]:+.2f} [{d["ci_low"]:+.2f}, {d["ci_high"]:+.2f}]'


def load_results(out: str | Path) -> dict:
    """``OUT/results.json`` of a finished benchmark."""
    return json.loads((Path(out) / 'results.json').read_text())
