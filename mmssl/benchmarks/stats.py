"""Statistics of the label-efficiency benchmark: paired differences to scratch and their intervals.

Two runs are a *pair* when they share the label fraction (hence the scene subset: subsets
depend only on the fraction and the split seed, never on the method) and the fine-tuning seed.
For a method ``m`` and a fraction ``f`` with seeds ``s = 1..n`` the paired differences are
``d_s = metric(m, f, s) - metric(scratch, f, s)``; the report gives

* the mean ``d̄ = Σ d_s / n`` and the sample standard deviation
  ``sd = sqrt(Σ (d_s - d̄)² / (n - 1))``;
* the two-sided ``confidence`` (95%) Student-t interval ``d̄ ± t_{1-α/2, n-1} · sd / sqrt(n)``,
  ``α = 1 - confidence`` (``scipy.stats.t``). With one seed there is no interval (``None``).

Pairing removes the variance that both arms share (the same labelled scenes, the same data
order and head initialisation for one seed), so the interval on ``d̄`` is narrower than the one
a comparison of the two unpaired means would give.

Missing values are skipped: a metric that is ``None`` or NaN in a run (a class that MMDet3D's
``SegMetric`` could not score because the evaluation set has neither labels nor predictions of it,
:func:`~.steps.summarise_lidar_seg_metrics`) leaves that run out of the metric's mean and std and
that seed out of its paired differences; the other metrics of the run still count.

Fine-tuning strategies (``--strategies``) are compared the same way to full fine-tuning of the
same method (:func:`paired_vs_full`): pairs share the method, the fraction and the seed; and each
method under a strategy is compared to scratch under the same strategy
(:func:`paired_vs_scratch_by_strategy`: a pre-trained encoder's linear probe against a random
encoder's, as SLidR's and ScaLR's probe tables). Runs without a ``strategy`` key (made before
strategies existed) are ``full`` runs.
"""

from __future__ import annotations

import math
import statistics
from typing import Iterable

from .presets import SCRATCH
from .strategies import FULL

METRICS = ('NDS', 'mAP')


def has_value(record: dict, metric: str) -> bool:
    """Whether ``record`` holds a number for ``metric`` (not missing, ``None`` or NaN)."""
    value = record.get(metric)
    return value is not None and not math.isnan(float(value))


def mean_std_ci(values: Iterable[float], confidence: float = 0.95) -> dict:
    """Mean, sample std and the Student-t interval of the mean of ``values``.

    Args:
        values: The sample (at least one value).
        confidence: Two-sided coverage of the interval, in ``(0, 1)``.

    Returns:
        ``dict(n, mean, std, ci_low, ci_high, half_width)``; ``std`` and the interval are
        ``None`` for a single value.
    """
    from scipy import stats

    values = [float(v) for v in values]
    if not values:
        raise ValueError('mean_std_ci: empty sample')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence}')
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return dict(n=n, mean=mean, std=None, ci_low=None, ci_high=None, half_width=None)
    std = statistics.stdev(values)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * std / math.sqrt(n)
    return dict(n=n, mean=mean, std=std, ci_low=mean - half, ci_high=mean + half, half_width=half)


def _split_id(record: dict):
    """What makes two runs share labels: the scene list of their split (or its file)."""
    split = record.get('split') or {}
    scenes = split.get('scenes')
    return tuple(scenes) if scenes is not None else record.get('split_file')


def strategy_of(record: dict) -> str:
    """The fine-tuning strategy of a run record (``full`` for records without one)."""
    return record.get('strategy') or FULL


def full_runs(records: list[dict]) -> list[dict]:
    """The runs fine-tuned with the ``full`` strategy (the method comparison's runs)."""
    return [r for r in records if strategy_of(r) == FULL]


def paired_vs_full(records: list[dict], metrics: Iterable[str] = METRICS, confidence: float = 0.95) -> dict:
    """Per ``(method, strategy, fraction)`` of every other strategy: paired differences to ``full``.

    Args:
        records: Run records with ``method``, ``strategy``, ``fraction``, ``seed`` and the metrics.
        metrics: Metric keys to difference.
        confidence: Coverage of the Student-t interval.

    Returns:
        ``{(method, strategy, fraction): {metric: dict(seeds, differences, n, mean, std, ci_low,
        ci_high, half_width)}}``; only seeds that both arms finished are paired.

    Raises:
        ValueError: two runs of one (method, strategy, fraction, seed), or a pair trained on
            different scene subsets.
    """
    runs: dict[tuple, dict] = {}
    for r in records:
        key = (r['method'], strategy_of(r), float(r['fraction']), int(r['seed']))
        if key in runs:
            raise ValueError(
                f'two runs of method {key[0]!r}, strategy {key[1]!r}, fraction {key[2]:g}, seed {key[3]}'
            )
        runs[key] = r
    out: dict = {}
    for method, strategy, fraction in sorted({(m, st, f) for m, st, f, _ in runs if st != FULL}):
        arm = [r for (m, st, f, _), r in runs.items() if (m, st, f) == (method, strategy, fraction)]
        ref = [r for (m, st, f, _), r in runs.items() if (m, st, f) == (method, FULL, fraction)]
        row = paired_runs(
            arm, ref, metrics, confidence, f'{method} {strategy} and {FULL} at fraction {fraction:g}'
        )
        if row:
            out[(method, strategy, fraction)] = row
    return out


def paired_runs(
    arm: list[dict],
    reference: list[dict],
    metrics: Iterable[str] = METRICS,
    confidence: float = 0.95,
    what: str = '',
) -> dict:
    """Per metric, the paired differences ``arm - reference`` over the seeds both have.

    Args:
        arm, reference: Run records of one fraction (``seed``, ``split``/``split_file`` and the metrics).
        metrics: Metric keys to difference.
        confidence: Coverage of the Student-t interval.
        what: The two arms, for the error message.

    Returns:
        ``{metric: dict(seeds, differences, n, mean, std, ci_low, ci_high, half_width)}``; empty
        when no seed is in both. A metric pairs the seeds where both runs have a value
        (:func:`has_value`) and is left out when there is none.

    Raises:
        ValueError: a pair trained on different scene subsets (they would not be a pair).
    """
    ref = {int(r['seed']): r for r in reference}
    pairs = [
        (a, ref[int(a['seed'])]) for a in sorted(arm, key=lambda r: int(r['seed'])) if int(a['seed']) in ref
    ]
    for a, b in pairs:
        if _split_id(a) != _split_id(b):
            raise ValueError(
                f'{what}, seed {a["seed"]} were trained on different scene subsets '
                f'({a.get("split_file")} vs {b.get("split_file")})'
            )
    if not pairs:
        return {}
    row = {}
    for metric in metrics:
        scored = [(a, b) for a, b in pairs if has_value(a, metric) and has_value(b, metric)]
        if not scored:
            continue
        seeds = [int(a['seed']) for a, _ in scored]
        diffs = [a[metric] - b[metric] for a, b in scored]
        row[metric] = dict(seeds=seeds, differences=diffs, **mean_std_ci(diffs, confidence))
    return row


def paired_differences(
    records: list[dict], metrics: Iterable[str] = METRICS, confidence: float = 0.95
) -> dict:
    """Per ``(method, fraction)`` of every non-scratch method: the paired differences to scratch.

    Args:
        records: Run records with ``method``, ``fraction``, ``seed`` and the metrics
            (``results.json['runs']``).
        metrics: Metric keys to difference.
        confidence: Coverage of the Student-t interval.

    Returns:
        ``{(method, fraction): {metric: dict(seeds, differences, n, mean, std, ci_low,
        ci_high, half_width)}}``; only seeds that both arms finished are paired.

    Raises:
        ValueError: two runs of one (method, fraction, seed), or a pair trained on different
            scene subsets (they would not be a pair).
    """
    runs: dict[tuple, dict] = {}
    for r in records:
        key = (r['method'], float(r['fraction']), int(r['seed']))
        if key in runs:
            raise ValueError(f'two runs of method {key[0]!r}, fraction {key[1]:g}, seed {key[2]}')
        runs[key] = r
    out: dict = {}
    for method, fraction in sorted({(m, f) for m, f, _ in runs if m != SCRATCH}):
        arm = [r for (m, f, _), r in runs.items() if (m, f) == (method, fraction)]
        ref = [r for (m, f, _), r in runs.items() if (m, f) == (SCRATCH, fraction)]
        row = paired_runs(arm, ref, metrics, confidence, f'{method} and {SCRATCH} at fraction {fraction:g}')
        if row:
            out[(method, fraction)] = row
    return out


def paired_vs_scratch_by_strategy(
    records: list[dict], metrics: Iterable[str] = METRICS, confidence: float = 0.95
) -> dict:
    """Per ``(method, strategy, fraction)`` of every non-scratch method under a strategy other than
    ``full``: the paired differences to scratch under the same strategy (:func:`paired_differences`
    within each strategy; ``full`` is the main table's comparison).

    Returns:
        ``{(method, strategy, fraction): {metric: dict(seeds, differences, n, mean, std, ci_low,
        ci_high, half_width)}}``.
    """
    out: dict = {}
    for strategy in sorted({strategy_of(r) for r in records} - {FULL}):
        group = [r for r in records if strategy_of(r) == strategy]
        for (method, fraction), row in paired_differences(group, metrics, confidence).items():
            out[(method, strategy, fraction)] = row
    return out


def aggregate(records: list[dict], metrics: Iterable[str] = METRICS, by_strategy: bool = False) -> dict:
    """Mean and sample std (0 for one seed) over seeds, per ``(method, fraction)``.

    A metric's mean and std are over the runs that have a value for it (:func:`has_value`); when
    that is fewer than the row's ``n`` runs, the row also holds ``<metric>_n``, and with none the
    mean and std are ``None``.

    With ``by_strategy`` the key is ``(method, strategy, fraction)`` and the rows also hold the
    mean ``trainable_share``, ``iters_per_sec`` and ``peak_mem_mb`` of the runs that recorded them.
    """
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        key = (
            (r['method'], strategy_of(r), float(r['fraction']))
            if by_strategy
            else (r['method'], float(r['fraction']))
        )
        groups.setdefault(key, []).append(r)
    table = {}
    for key, group in groups.items():
        row = dict(n=len(group))
        for metric in metrics:
            row.update(_mean_std(metric, [r[metric] for r in group if has_value(r, metric)], len(group)))
        if by_strategy:
            for extra in ('trainable_share', 'iters_per_sec', 'peak_mem_mb'):
                values = [r[extra] for r in group if r.get(extra) is not None]
                row[extra] = statistics.fmean(values) if values else None
        table[key] = row
    return table


def _mean_std(metric: str, values: list[float], runs: int) -> dict:
    """``{metric: mean, <metric>_std: std}`` of the values, ``<metric>_n`` when some runs had none."""
    if not values:
        row = {metric: None, f'{metric}_std': None}
    else:
        row = {
            metric: statistics.fmean(values),
            f'{metric}_std': statistics.stdev(values) if len(values) > 1 else 0.0,
        }
    if len(values) < runs:
        row[f'{metric}_n'] = len(values)
    return row
