"""Reports of the label-efficiency benchmark: results.json, results.md, label_efficiency.png.

The tables of results.md are in :mod:`.tables` (re-exported here); this module gathers the
figures, writes the files and draws the plot.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
from pathlib import Path

from mmssl.utils.atomic_io import atomic_write_bytes

from .presets import BenchmarkPreset
from .stats import (
    METRICS,
    aggregate,
    full_runs,
    paired_differences,
    paired_vs_full,
    paired_vs_scratch_by_strategy,
)
from .strategies import FULL
from .tables import (
    DETECTION,
    LIDARSEG,
    MainMetrics,
    lidarseg_class_table,
    lidarseg_metrics,
    markdown_table,
    probe_table,
    seg_metric_name,
    seg_metrics,
    segmentation_table,
    strategy_table,
    strategy_vs_scratch_table,
    table_methods,
    weight_change_table,
)

__all__ = [
    'DETECTION',
    'LIDARSEG',
    'MainMetrics',
    'aggregate',
    'environment_record',
    'lidarseg_class_table',
    'lidarseg_metrics',
    'markdown_table',
    'paired_differences',
    'plot',
    'segmentation_table',
    'strategy_table',
    'strategy_vs_scratch_table',
    'write_reports',
]

VERSIONED = ('torch', 'mmengine', 'mmcv', 'mmdet', 'mmdet3d', 'spconv', 'nuscenes-devkit', 'peft', 'mmssl')


def environment_record(repo_root: Path) -> dict:
    """Package versions and the git commit the benchmark ran on."""
    versions = {}
    for dist in VERSIONED:
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    try:
        commit = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=repo_root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ['git', 'status', '--porcelain', '--untracked-files=no'],
                cwd=repo_root,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return dict(versions=versions, git_commit=commit, git_dirty=dirty)


def plot(
    table: dict,
    preset: BenchmarkPreset,
    model: str,
    path: Path,
    paired: dict | None = None,
    metrics: tuple[str, ...] = ('NDS', 'mAP'),
    names: tuple[str, ...] | None = None,
) -> None:
    """Top: two metrics (NDS and mAP, a LiDAR segmentation model's mIoU and point accuracy, or a
    BEV segmentation model's vehicle IoU and map mIoU) against label fraction, mean +- std over
    seeds, one line per method (published figures as crosses). Bottom: paired difference to
    scratch with its 95% interval. ``names`` label the metrics (default: their keys); fractions
    without a value of a metric are left out of its panels."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    paired = paired or {}
    names = names or metrics
    methods = table_methods(table)
    cycle = plt.rcParams['axes.prop_cycle'].by_key()['color']
    colour = {m: cycle[i % len(cycle)] for i, m in enumerate(methods)}  # one colour per method, all panels
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), squeeze=False)
    for col, (metric, name) in enumerate(zip(metrics, names)):
        ax = axes[0][col]
        for method in methods:
            fractions = sorted(f for m, f in table if m == method and table[(m, f)].get(metric) is not None)
            ax.errorbar(
                [100 * f for f in fractions],
                [table[(method, f)][metric] for f in fractions],
                yerr=[table[(method, f)][f'{metric}_std'] for f in fractions],
                marker='o',
                capsize=3,
                color=colour[method],
                label=method,
            )
            pub = [
                (100 * f, preset.published[(model, method, f)][metric])
                for f in fractions
                if metric in preset.published.get((model, method, f), {})
            ]
            if pub:
                ax.scatter(*zip(*pub), marker='x', s=60, color=colour[method], label=f'{method} (published)')
        ax.set_ylabel(f'{name} (%), mean +- std over seeds')
        ax.set_title(f'{model}: {name} vs labels ({preset.name})')
        ax = axes[1][col]
        for method in methods:
            keys = sorted(f for m, f in paired if m == method and metric in paired[(m, f)])
            if not keys:
                continue
            rows = [paired[(method, f)][metric] for f in keys]
            yerr = [r['half_width'] if r['half_width'] is not None else 0.0 for r in rows]
            ax.errorbar(
                [100 * f for f in keys],
                [r['mean'] for r in rows],
                yerr=yerr,
                marker='o',
                capsize=3,
                color=colour[method],
                label=f'{method} - scratch',
            )
        ax.axhline(0.0, color='k', lw=0.8)
        ax.set_ylabel(f'{name} gain (points), 95% CI')
        ax.set_title('paired difference to scratch (same split, same seed)')
        for a in (axes[0][col], axes[1][col]):
            a.set_xscale('log')
            a.set_xlabel('labelled training scenes (%)')
            a.grid(True, which='both', alpha=0.3)
            if a.get_legend_handles_labels()[0]:
                a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _paired_json(paired: dict) -> list[dict]:
    return [dict(method=m, fraction=f, **row) for (m, f), row in sorted(paired.items())]


def _probe_json(probe: dict) -> dict:
    """A probe record without the long spectrum lists (they stay in the probe's own file)."""
    spectrum = {
        k: {kk: vv for kk, vv in v.items() if kk != 'explained_ratio'} for k, v in probe['spectrum'].items()
    }
    return {**probe, 'spectrum': spectrum}


def _main_metrics(full: list[dict]) -> tuple[MainMetrics, tuple[str, ...]]:
    """The main figures of the ``full`` runs, and every key their summary and paired differences hold.

    Raises:
        ValueError: neither detection, BEV segmentation nor LiDAR segmentation figures in every run.
    """
    if all('NDS' in r for r in full):
        return DETECTION, METRICS
    seg = seg_metrics(full)
    if seg:
        return MainMetrics(keys=tuple(seg[:2]), names=tuple(map(seg_metric_name, seg[:2]))), tuple(seg)
    lidarseg = lidarseg_metrics(full)
    if lidarseg:
        return LIDARSEG, tuple(lidarseg)
    raise ValueError(
        'the runs hold neither detection (NDS/mAP) nor BEV segmentation (BEVSegMetric) nor LiDAR '
        'segmentation (SegMetric) figures'
    )


def write_reports(
    out: Path,
    records: list[dict],
    preset: BenchmarkPreset,
    model: str,
    env: dict,
    pretraining: dict | None = None,
    probes: dict | None = None,
    finetune_iters: int | None = None,
) -> None:
    """Write results.json (every run, summary, paired differences, pre-training weight change,
    probes, environment), results.md and label_efficiency.png.

    The method comparison (summary, gains vs scratch, plot) uses the ``full`` runs; with other
    strategies results.json also holds ``summary_by_strategy``, ``paired_vs_full`` and
    ``paired_vs_scratch_by_strategy``, and results.md the strategy tables (:func:`strategy_table`,
    :func:`strategy_vs_scratch_table`). The figures are the detector's NDS
    and mAP, else a BEV segmentation model's IoUs, else a LiDAR segmentation model's mIoU,
    accuracies and per-class IoUs (:func:`_main_metrics`).

    Raises:
        ValueError: the runs hold none of these figures.
    """
    pretraining, probes = pretraining or {}, probes or {}
    full = full_runs(records)
    main, main_metrics = _main_metrics(full)
    seg = seg_metrics(full)
    table = aggregate(full, main_metrics)
    paired = paired_differences(full, main_metrics)
    payload = dict(
        preset=preset.name,
        model=model,
        pretrain_iters=preset.pretrain_iters,
        finetune_iters=finetune_iters or preset.finetune_iters,
        protocol=preset.description,
        environment=env,
        runs=records,
        summary=[dict(method=m, fraction=f, **row) for (m, f), row in sorted(table.items())],
        paired_vs_scratch=_paired_json(paired),
        summary_seg=[
            dict(method=m, fraction=f, **row) for (m, f), row in sorted(aggregate(full, seg).items())
        ]
        if seg
        else [],
        paired_seg_vs_scratch=_paired_json(paired_differences(full, seg)) if seg else [],
        pretraining=pretraining,
        probes={m: _probe_json(p) for m, p in probes.items()},
    )
    by_strategy = aggregate(records, main_metrics, by_strategy=True)
    if {st for _, st, _ in by_strategy} - {FULL}:
        payload['summary_by_strategy'] = [
            dict(method=m, strategy=st, fraction=f, **row) for (m, st, f), row in sorted(by_strategy.items())
        ]
        payload['paired_vs_full'] = [
            dict(method=m, strategy=st, fraction=f, **row)
            for (m, st, f), row in sorted(paired_vs_full(records, main_metrics).items())
        ]
        payload['paired_vs_scratch_by_strategy'] = [
            dict(method=m, strategy=st, fraction=f, **row)
            for (m, st, f), row in sorted(paired_vs_scratch_by_strategy(records, main_metrics).items())
        ]
    atomic_write_bytes(json.dumps(payload, indent=2, default=str).encode(), out / 'results.json')
    bev_seg_only = main not in (DETECTION, LIDARSEG)  # BEV segmentation: segmentation_table is its table
    text = (
        f'# {model}\n' if bev_seg_only else markdown_table(table, preset, model, paired, finetune_iters, main)
    )
    extras = (
        segmentation_table(records),
        lidarseg_class_table(records),
        strategy_table(records, main),
        strategy_vs_scratch_table(records, main),
        weight_change_table(pretraining),
        probe_table(probes),
    )
    for extra in extras:
        if extra:
            text += '\n' + extra
    atomic_write_bytes(text.encode(), out / 'results.md')
    plot(table, preset, model, out / 'label_efficiency.png', paired, main.keys[:2], main.names[:2])
    print(text, flush=True)
