"""Markdown tables of the label-efficiency reports (:mod:`.report` writes them into results.md).

The main figures depend on what the downstream model reports (:class:`MainMetrics`): a detector's
NDS and mAP (:data:`DETECTION`), a LiDAR segmentation model's mIoU and point accuracy
(:data:`LIDARSEG`, MMDet3D's ``SegMetric``), or a BEV segmentation model's IoUs (``BEVSegMetric``
alone: its own table, :func:`segmentation_table`). Besides the main table: the fine-tuning
strategies against full fine-tuning and against scratch, per-class tables, the pre-training weight
change and the feature probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .presets import SCRATCH, BenchmarkPreset
from .stats import (
    METRICS,
    aggregate,
    full_runs,
    has_value,
    paired_differences,
    paired_vs_full,
    paired_vs_scratch_by_strategy,
)
from .strategies import FULL

_GAINS_NOTE = (
    'mean +- sample standard deviation over seeds. Gains: mean +- std of the paired differences to',
    'scratch (same scene subset and seed) and the 95% Student-t interval of their mean',
    '(mean +- t(0.975, n-1) * std / sqrt(n)).',
)


@dataclass(frozen=True)
class MainMetrics:
    """The figures of a model's main table (with gain columns), strategy table and plot.

    Attributes:
        keys: Run-record keys, in column order (the plot shows the first two).
        names: Their column names.
        note: Footnote lines of the main table (what the figures are).
    """

    keys: tuple[str, ...]
    names: tuple[str, ...]
    note: tuple[str, ...] = ()


DETECTION = MainMetrics(
    keys=METRICS,
    names=METRICS,
    note=(
        'NDS and mAP in %, nuScenes detection metric (nuscenes-devkit via MMDet3D NuScenesMetric);',
        *_GAINS_NOTE,
    ),
)
#: The aggregate keys of :func:`~.steps.summarise_lidar_seg_metrics` (the per-class ``IoU_<class>`` follow).
LIDARSEG_AGGREGATES = ('lidarseg_mIoU', 'lidarseg_acc', 'lidarseg_acc_cls')
LIDARSEG = MainMetrics(
    keys=('lidarseg_mIoU', 'lidarseg_acc'),
    names=('mIoU', 'point acc'),
    note=(
        'mIoU and point accuracy (point acc) in %, LiDAR semantic segmentation (MMDet3D SegMetric) on',
        'every point of the validation keyframes; mIoU is the mean IoU over the classes SegMetric could',
        'score (in the labels or the predictions; the others are NaN and left out).',
        *_GAINS_NOTE,
    ),
)


def _fmt(value, digits: int = 2) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def _mean_pm(row: dict, key: str) -> str:
    """``'mean +- std'`` of an aggregated row, ``'-'`` without a value."""
    if row.get(key) is None:
        return '-'
    return f'{row[key]:.2f} +- {row[f"{key}_std"]:.2f}'


def table_methods(table: dict) -> list[str]:
    """The methods of a summary table, scratch first."""
    return sorted({m for m, _ in table}, key=lambda m: (m != SCRATCH, m))


def markdown_table(
    table: dict,
    preset: BenchmarkPreset,
    model: str,
    paired: dict | None = None,
    finetune_iters: int | None = None,
    main: MainMetrics = DETECTION,
) -> str:
    """The results table: mean +- std per method and fraction, paired gain over scratch, published.

    The gain columns hold the mean paired difference to scratch (same split and seed) and its
    95% Student-t interval (:mod:`mmssl.benchmarks.stats`); with one seed only the difference.

    Args:
        table: :func:`~.stats.aggregate` of the ``full`` runs over ``main.keys`` (at least).
        preset: The benchmark's preset (name, iterations, published figures).
        model: Downstream model name.
        paired: :func:`~.stats.paired_differences` of the same runs.
        finetune_iters: Fine-tuning iterations (default: the preset's).
        main: The figures of the table: NDS and mAP (default), or a segmentation model's.
    """
    paired = paired if paired is not None else {}
    methods = table_methods(table)
    fractions = sorted({f for _, f in table})
    has_published = any((model, m, f) in preset.published for m in methods for f in fractions)
    first, *rest = main.names
    gains_head = ' | '.join([f'{first} gain vs scratch [95% CI]', *(f'{n} gain [95% CI]' for n in rest)])
    head = f'| method | labels | seeds | {" | ".join(main.names)} | {gains_head} |'
    sep = '|---|---|---|' + '---|' * (2 * len(main.keys))
    if has_published:
        head += ' published mAP | published NDS |'
        sep += '---|---|'
    fine = finetune_iters or preset.finetune_iters or "the config's"
    pre = preset.pretrain_iters or "the config's"
    iters = f'pre-training {pre} iterations, fine-tuning {fine} iterations for every fraction'
    lines = [f'# Label efficiency: {model}, preset {preset.name} ({iters})', '', head, sep]
    for method in methods:
        for fraction in fractions:
            row = table.get((method, fraction))
            if row is None:
                continue
            diff = paired.get((method, fraction)) or {}
            gains = [_ci(diff[m]) if m in diff else '-' for m in main.keys]
            values = [_mean_pm(row, m) for m in main.keys]
            line = f'| {method} | {fraction:g} | {row["n"]} | {" | ".join(values)} | {" | ".join(gains)} |'
            if has_published:
                pub = preset.published.get((model, method, fraction), {})
                line += f' {pub.get("mAP", "-")} | {pub.get("NDS", "-")} |'
            lines.append(line)
    lines += ['', *main.note]
    return '\n'.join(lines) + '\n'


def _ci(d: dict) -> str:
    text = f'{d["mean"]:+.2f}'
    if d['std'] is not None:
        text += f' +- {d["std"]:.2f} [{d["ci_low"]:+.2f}, {d["ci_high"]:+.2f}]'
    return text


def strategy_table(records: list[dict], main: MainMetrics = DETECTION) -> str:
    """Markdown: every fine-tuning strategy per method and fraction, paired gain vs ``full``.

    Empty when every run is a ``full`` run (the report is then the one of the method comparison),
    and when a run lacks the first of ``main.keys`` (the figures the strategies are compared on:
    NDS and mAP by default, mIoU and accuracy for :data:`LIDARSEG`).
    """
    if not all(main.keys[0] in r for r in records):
        return ''
    table = aggregate(records, main.keys, by_strategy=True)
    if {st for _, st, _ in table} <= {FULL}:
        return ''
    paired = paired_vs_full(records, main.keys)
    order = {FULL: 0}
    names = ' | '.join(main.names)
    versus = ' | '.join(f'{n} vs full [95% CI]' for n in main.names)
    lines = [
        '## Fine-tuning strategies (same splits and seeds; gains paired vs full fine-tuning)',
        '',
        f'| method | strategy | labels | seeds | {names} | {versus} | trainable | it/s | peak MB |',
        '|---|---|---|---|' + '---|' * (2 * len(main.keys)) + '---|---|---|',
    ]
    for method, strategy, fraction in sorted(
        table, key=lambda k: (k[0] != SCRATCH, k[0], k[2], order.get(k[1], 1), k[1])
    ):
        row = table[(method, strategy, fraction)]
        diff = paired.get((method, strategy, fraction)) or {}
        gains = [_ci(diff[m]) if m in diff else '-' for m in main.keys]
        values = [_mean_pm(row, m) for m in main.keys]
        share = '-' if row['trainable_share'] is None else f'{100 * row["trainable_share"]:.1f}%'
        lines.append(
            f'| {method} | {strategy} | {fraction:g} | {row["n"]} | '
            f'{" | ".join(values)} | {" | ".join(gains)} | {share} | '
            f'{_fmt(row["iters_per_sec"], 3)} | {_fmt(row["peak_mem_mb"], 0)} |'
        )
    lines += [
        '',
        'Gains: mean +- std of the paired differences to full fine-tuning of the same method (same',
        'scene subset and seed) and their 95% Student-t interval. trainable: share of the parameters',
        'that train (TrainableParamsHook, at the start of the run); it/s and peak memory: ComputeStatsHook.',
    ]
    return '\n'.join(lines) + '\n'


def strategy_vs_scratch_table(records: list[dict], main: MainMetrics = DETECTION) -> str:
    """Markdown: each method under each strategy other than ``full`` against scratch under the same
    strategy (:func:`~.stats.paired_vs_scratch_by_strategy`), e.g. the linear probe of a
    pre-trained encoder against that of a random one.

    Empty when no such pair exists or a run lacks the first of ``main.keys``.
    """
    if not all(main.keys[0] in r for r in records):
        return ''
    paired = paired_vs_scratch_by_strategy(records, main.keys)
    if not paired:
        return ''
    table = aggregate(records, main.keys, by_strategy=True)
    versus = ' | '.join(f'{n} vs scratch [95% CI]' for n in main.names)
    lines = [
        '## Strategies against scratch (same strategy, splits and seeds)',
        '',
        f'| method | strategy | labels | seeds | {" | ".join(main.names)} | {versus} |',
        '|---|---|---|---|' + '---|' * (2 * len(main.keys)),
    ]
    for method, strategy, fraction in sorted(paired, key=lambda k: (k[1], k[2], k[0])):
        diff = paired[(method, strategy, fraction)]
        row = table[(method, strategy, fraction)]
        values = [_mean_pm(row, m) for m in main.keys]
        gains = [_ci(diff[m]) if m in diff else '-' for m in main.keys]
        cells = [method, strategy, f'{fraction:g}', str(row['n']), *values, *gains]
        lines.append(f'| {" | ".join(cells)} |')
    lines += [
        '',
        'Gains: mean +- std of the paired differences to scratch fine-tuned with the same strategy (same',
        'scene subset and seed) and their 95% Student-t interval.',
    ]
    return '\n'.join(lines) + '\n'


def seg_metrics(records: list[dict]) -> list[str]:
    """The BEV segmentation keys every run holds, or ``[]``: ``IoU_vehicle`` (if any), ``seg_map_mIoU``
    (if reported), ``seg_mIoU``, the other ``IoU_<class>``. The first two get gain columns."""
    if not records or not all('seg_mIoU' in r for r in records):
        return []
    classes = [k for k in records[0] if k.startswith('IoU_')]
    # vehicle first (OccFeat's headline), then the map mean, then the other classes
    classes.sort(key=lambda k: k != 'IoU_vehicle')
    means = ['seg_map_mIoU'] if all('seg_map_mIoU' in r for r in records) else []
    return [*classes[:1], *means, 'seg_mIoU', *(k for k in classes[1:] if all(k in r for r in records))]


def seg_metric_name(metric: str) -> str:
    """Column name of a BEV segmentation key: ``IoU_vehicle`` -> ``vehicle IoU``, ``seg_mIoU`` -> ``mIoU``."""
    return metric.replace('IoU_', '') + ' IoU' if metric.startswith('IoU_') else metric.replace('seg_', '')


def segmentation_table(records: list[dict]) -> str:
    """Markdown: BEV segmentation IoU per method and fraction, paired gain vs scratch (``full`` runs).

    Empty when the runs have no ``BEVSegMetric`` figures.
    """
    full = full_runs(records)
    metrics = seg_metrics(full)
    if not metrics:
        return ''
    table = aggregate(full, metrics)
    paired = paired_differences(full, metrics)
    names = [seg_metric_name(m) for m in metrics]
    lines = [
        '## BEV segmentation (BEVSegMetric, IoU in %; gains paired vs scratch)',
        '',
        '| method | labels | seeds | '
        + ' | '.join(names)
        + ' | '
        + ' | '.join(f'{n} gain [95% CI]' for n in names[:2])
        + ' |',
        '|---|---|---|' + '---|' * (len(names) + 2),
    ]
    for method, fraction in sorted(table, key=lambda k: (k[0] != SCRATCH, k[0], k[1])):
        row = table[(method, fraction)]
        diff = paired.get((method, fraction))
        gains = [_ci(diff[m]) if diff else '-' for m in metrics[:2]]
        values = ' | '.join(f'{row[m]:.2f} +- {row[f"{m}_std"]:.2f}' for m in metrics)
        lines.append(f'| {method} | {fraction:g} | {row["n"]} | {values} | ' + ' | '.join(gains) + ' |')
    lines += [
        '',
        "IoU: the max over binarisation thresholds 0.35-0.65 per class (BEVFusion's protocol), on the",
        'validation frames; mean +- std over seeds; gains as in the detection table.',
    ]
    return '\n'.join(lines) + '\n'


def lidarseg_metrics(records: list[dict]) -> list[str]:
    """The LiDAR segmentation keys of the runs, or ``[]`` unless every run has ``lidarseg_mIoU``:
    :data:`LIDARSEG_AGGREGATES`, then every ``IoU_<class>`` in the order the runs name them."""
    if not records or not all('lidarseg_mIoU' in r for r in records):
        return []
    classes = dict.fromkeys(k for r in records for k in r if k.startswith('IoU_'))
    return [*LIDARSEG_AGGREGATES, *classes]


def _class_cell(row: dict, key: str) -> str:
    """``'mean +- std'``, with ``(k of n)`` when only k of the row's n runs scored the class."""
    text = _mean_pm(row, key)
    scored = row.get(f'{key}_n')
    return text if scored is None or text == '-' else f'{text} ({scored} of {row["n"]})'


def lidarseg_class_table(records: list[dict]) -> str:
    """Markdown: mean class accuracy and per-class IoU of each method and fraction (``full`` runs).

    Empty when the runs have no ``SegMetric`` figures. A class that no run scored (SegMetric's NaN:
    neither in the validation labels nor predicted) gets no column and is named below the table;
    a class scored by only some runs of a row shows how many.
    """
    full = full_runs(records)
    metrics = lidarseg_metrics(full)
    if not metrics:
        return ''
    classes = [m for m in metrics if m.startswith('IoU_')]
    scored = [m for m in classes if any(has_value(r, m) for r in full)]
    table = aggregate(full, ['lidarseg_acc_cls', *scored])
    names = [m.removeprefix('IoU_') for m in scored]
    lines = [
        '## LiDAR segmentation per class (SegMetric, in %; mean +- std over seeds)',
        '',
        '| method | labels | seeds | class acc | ' + ' | '.join(names) + ' |',
        '|---|---|---|---|' + '---|' * len(names),
    ]
    for method, fraction in sorted(table, key=lambda k: (k[0] != SCRATCH, k[0], k[1])):
        row = table[(method, fraction)]
        cells = [_mean_pm(row, 'lidarseg_acc_cls'), *(_class_cell(row, m) for m in scored)]
        lines.append(f'| {method} | {fraction:g} | {row["n"]} | ' + ' | '.join(cells) + ' |')
    lines += [
        '',
        'class acc: mean per-class recall (SegMetric acc_cls); the classes: IoU. "(k of n)": only k of',
        'the n runs scored the class (in their validation labels or predictions); means, stds and',
        'the paired per-class differences in results.json skip the runs without a value.',
    ]
    unscored = [m.removeprefix('IoU_') for m in classes if m not in scored]
    if unscored:
        lines.append(
            f'Scored in no run (NaN: not in the validation labels, never predicted): {", ".join(unscored)}.'
        )
    return '\n'.join(lines) + '\n'


def weight_change_table(pretraining: dict) -> str:
    """Markdown: relative weight change of each encoder module after each pre-training."""
    rows = [(m, p['weight_change']) for m, p in sorted(pretraining.items()) if p.get('weight_change')]
    if not rows:
        return ''
    lines = [
        '## How far pre-training moved the encoders',
        '',
        '| method | module | params | norm(w0) | norm(w - w0) / norm(w0) |',
        '|---|---|---|---|---|',
    ]
    for method, change in rows:
        for module, c in change.items():
            lines.append(
                f'| {method} | {module.rstrip(".")} | {c["params"]} | {c["norm_start"]:.2f} | '
                f'{c["relative_change"]:.4f} |'
            )
    return '\n'.join(lines) + '\n'


def probe_table(probes: dict) -> str:
    """Markdown: the linear BEV probe and the embedding spectrum of each method's encoders."""
    if not probes:
        return ''
    lines = [
        '## Feature probe (frozen encoders, linear BEV class probe; embedding spectrum)',
        '',
        '| method | features | occupancy IoU | mIoU | balanced acc. | effective rank | explained-var. AUC '
        '| effective rank, channels at unit variance |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for method in sorted(probes, key=lambda m: (m != SCRATCH, m)):
        r = probes[method]
        p, s = r['probe'], r['spectrum']['all']
        channels = sum(r['feature_channels'].values())
        unit = s.get('standardized')  # probes written before the standardised spectrum lack it
        unit_rank = f'{unit["effective_rank"]:.2f} / {unit["dim"]}' if unit else '-'
        lines.append(
            f'| {method} | {"+".join(r["modules"])} ({channels} ch) | {_fmt(p["occupancy_IoU"])} | '
            f'{_fmt(p["mIoU"])} | {_fmt(p["balanced_accuracy"])} | {s["effective_rank"]:.2f} / {s["dim"]} | '
            f'{s["auc"]:.4f} | {unit_rank} |'
        )
    first = next(iter(probes.values()))
    lines += [
        '',
        f'Probe fitted on the {first["train"]["frames"]} frames of {Path(first["train"]["ann_file"]).name}, '
        f'scored on {first["val"]["frames"]} validation frames (IoU in %, scratch = random init).',
        'Spectrum of the covariance of non-empty validation cells: effective rank = exp(entropy of',
        'the explained-variance ratios), AUC = mean of the cumulative explained-variance curve',
        '(lower = less collapse). See docs/benchmarks-label-efficiency.md.',
    ]
    return '\n'.join(lines) + '\n'
