"""Plot logged training scalars of an MMEngine run against the iteration, as a PNG.

    python tools/analysis/plot_scalars.py WORK_DIR_OR_SCALARS_JSON --keys KEY [KEY ...] \
        [--out FILE.png] [--title TEXT]

The input is a run's ``vis_data/scalars.json`` (one JSON object per logged iteration, written by
MMEngine's ``LocalVisBackend``) or a work dir, in which the newest ``*/vis_data/scalars.json`` is
used. Each key gets its own panel, e.g. ``collapse_effective_rank`` of the
``CollapseMonitorHook`` (AD-L-JEPA) next to ``loss``. A key may be given with or without the
``train/`` prefix the hooks use in the message hub (the local backend stores it without). A key
that no row holds stops with the keys that exist.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def find_scalars(path: Path) -> Path:
    """``path`` itself if it is a file, else the newest ``*/vis_data/scalars.json`` under it."""
    if path.is_file():
        return path
    found = sorted(path.glob('*/vis_data/scalars.json'), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f'plot_scalars: no */vis_data/scalars.json under {path}')
    return found[-1]


def read_series(scalars: Path, keys: list[str]) -> dict[str, tuple[list[int], list[float]]]:
    """``{key: (iterations, values)}`` for each key (``train/`` prefix optional).

    Raises:
        ValueError: a line is not JSON (file and line named), or a key is in no row.
    """
    rows = []
    for number, line in enumerate(scalars.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(f'plot_scalars: {scalars} line {number} is not JSON: {err}') from err
    series = {}
    present = sorted({k for row in rows for k in row})
    for key in keys:
        name = key.removeprefix('train/')
        points = [(int(row['step']), float(row[name])) for row in rows if name in row and 'step' in row]
        if not points:
            raise ValueError(f'plot_scalars: no row of {scalars} has {name!r}; keys present: {present}')
        series[name] = ([p[0] for p in points], [p[1] for p in points])
    return series


def plot(series: dict[str, tuple[list[int], list[float]]], out: Path, title: str = '') -> Path:
    """One panel per key, sharing the iteration axis; written to ``out``."""
    fig, axes = plt.subplots(len(series), 1, figsize=(6, 2.4 * len(series)), sharex=True, squeeze=False)
    for ax, (name, (steps, values)) in zip(axes[:, 0], series.items()):
        ax.plot(steps, values, marker='.' if len(steps) < 50 else None)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel('iteration')
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('run', type=Path, help='work dir or vis_data/scalars.json')
    parser.add_argument('--keys', nargs='+', required=True)
    parser.add_argument('--out', type=Path, default=None, help='PNG (default: scalars.png next to the input)')
    parser.add_argument('--title', default='')
    args = parser.parse_args(argv)
    scalars = find_scalars(args.run)
    out = args.out or scalars.parent / 'scalars.png'
    plot(read_series(scalars, args.keys), out, args.title)
    print(f'plot_scalars: wrote {out}')


if __name__ == '__main__':
    main()
