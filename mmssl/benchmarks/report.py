"""Reports of the label-efficiency benchmark: results.json, results.md, label_efficiency.png."""

from __future__ import annotations

import importlib.metadata as md
import json
import statistics
import subprocess
from pathlib import Path

from mmssl.utils.atomic_io import atomic_write_bytes

from .presets import SCRATCH, BenchmarkPreset

VERSIONED = ('torch', 'mmengine', 'mmcv', 'mmdet', 'mmdet3d', 'spconv', 'nuscenes-devkit', 'mmssl')


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


def aggregate(records: list[dict]) -> dict:
    """Mean and standard deviation of NDS/mAP over seeds, per (method, fraction)."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in records:
        groups.setdefault((r['method'], r['fraction']), []).append(r)
    table = {}
    for key, runs in groups.items():
        row = dict(n=len(runs))
        for metric in ('NDS', 'mAP'):
            values = [r[metric] for r in runs]
            row[metric] = statistics.fmean(values)
            row[f'{metric}_std'] = statistics.stdev(values) if len(values) > 1 else 0.0
        table[key] = row
    return table


def markdown_table(table: dict, preset: BenchmarkPreset, model: str) -> str:
    """The results.md text: mean +- std per method and fraction, gain over scratch, published."""
    methods = sorted({m for m, _ in table}, key=lambda m: (m != SCRATCH, m))
    fractions = sorted({f for _, f in table})
    has_published = any((model, m, f) in preset.published for m in methods for f in fractions)
    head = '| method | labels | seeds | NDS | mAP | NDS gain vs scratch | mAP gain vs scratch |'
    sep = '|---|---|---|---|---|---|---|'
    if has_published:
        head += ' published mAP |'
        sep += '---|'
    pre, fine = (n or "the config's" for n in (preset.pretrain_iters, preset.finetune_iters))
    iters = f'pre-training {pre} iterations, fine-tuning {fine} iterations'
    lines = [f'# Label efficiency: {model}, preset {preset.name} ({iters})', '', head, sep]
    for method in methods:
        for fraction in fractions:
            row = table.get((method, fraction))
            if row is None:
                continue
            base = table.get((SCRATCH, fraction))
            gains = ['-', '-']
            if base is not None and method != SCRATCH:
                gains = [f'{row[m] - base[m]:+.2f}' for m in ('NDS', 'mAP')]
            line = (
                f'| {method} | {fraction:g} | {row["n"]} | {row["NDS"]:.2f} +- {row["NDS_std"]:.2f} | '
                f'{row["mAP"]:.2f} +- {row["mAP_std"]:.2f} | {gains[0]} | {gains[1]} |'
            )
            if has_published:
                pub = preset.published.get((model, method, fraction), {}).get('mAP')
                line += f' {pub if pub is not None else "-"} |'
            lines.append(line)
    lines += [
        '',
        'NDS and mAP in %, nuScenes detection metric (nuscenes-devkit via MMDet3D NuScenesMetric);',
        'mean +- sample standard deviation over seeds.',
    ]
    return '\n'.join(lines) + '\n'


def plot(table: dict, preset: BenchmarkPreset, model: str, path: Path) -> None:
    """NDS and mAP against label fraction, one line per method with error bars."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    methods = sorted({m for m, _ in table}, key=lambda m: (m != SCRATCH, m))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ('NDS', 'mAP')):
        for method in methods:
            fractions = sorted(f for m, f in table if m == method)
            ax.errorbar(
                [100 * f for f in fractions],
                [table[(method, f)][metric] for f in fractions],
                yerr=[table[(method, f)][f'{metric}_std'] for f in fractions],
                marker='o',
                capsize=3,
                label=method,
            )
            pub = [
                (100 * f, preset.published[(model, method, f)][metric])
                for f in fractions
                if metric in preset.published.get((model, method, f), {})
            ]
            if pub:
                ax.scatter(*zip(*pub), marker='x', s=60, label=f'{method} (published)')
        ax.set_xscale('log')
        ax.set_xlabel('labelled training data (%)')
        ax.set_ylabel(f'{metric} (%)')
        ax.set_title(f'{model}: {metric} vs labels ({preset.name})')
        ax.grid(True, which='both', alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_reports(out: Path, records: list[dict], preset: BenchmarkPreset, model: str, env: dict) -> None:
    """Write results.json (every run + environment), results.md and label_efficiency.png."""
    table = aggregate(records)
    payload = dict(
        preset=preset.name,
        model=model,
        pretrain_iters=preset.pretrain_iters,
        finetune_iters=preset.finetune_iters,
        environment=env,
        runs=records,
        summary=[dict(method=m, fraction=f, **row) for (m, f), row in sorted(table.items())],
    )
    atomic_write_bytes(json.dumps(payload, indent=2, default=str).encode(), out / 'results.json')
    text = markdown_table(table, preset, model)
    atomic_write_bytes(text.encode(), out / 'results.md')
    plot(table, preset, model, out / 'label_efficiency.png')
    print(text, flush=True)
