"""Per-source point feature statistics for ``PerSourceNormalizePoints`` (multi-source pre-training).

Example:
    python tools/compute_source_stats.py configs/_base_/datasets/synthetic_nus_multisource_pretrain.py \\
        --out data/multisource_stats.json

Reads the config's training dataset (a ``MultiSourceDataset``: every source; any other dataset:
one source named ``--name``), and for each source streams the points of every sample's keyframe
file (``lidar_points.lidar_path`` of its info file, one file in memory at a time) into float64
running moments of ``--columns`` (default 3: intensity / reflectance). The values per point and
the column selection are those of the source's ``LoadSSLPointsFromFile`` (``load_dim``,
``use_dim``); ``--columns`` index the loaded points. Sweeps are not read.

Writes ``{source_name: {"columns": [...], "mean": [...], "std": [...], "count": N}}`` (population
standard deviation over all points of the source).
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

from mmengine.config import Config, DictAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config whose train_dataloader.dataset holds the sources')
    parser.add_argument('--out', required=True, help='JSON file to write')
    parser.add_argument('--columns', type=int, nargs='+', default=[3], help='point columns (default: 3)')
    parser.add_argument('--name', default=None, help='source name of a single (non multi-source) dataset')
    parser.add_argument('--max-samples', type=int, default=None, help='first N samples of each source')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def _loader_dims(pipeline: list) -> tuple[int, list[int] | None]:
    """(load_dim, use_dim list or None) of the pipeline's point loader."""
    for t in pipeline or []:
        kind = t.get('type', '') if isinstance(t, dict) else ''
        if isinstance(kind, str) and kind.split('.')[-1] in ('LoadSSLPointsFromFile', 'LoadPointsFromFile'):
            load_dim = int(t.get('load_dim', 6))
            use_dim = t.get('use_dim', [0, 1, 2])
            use_dim = list(range(use_dim)) if isinstance(use_dim, int) else [int(d) for d in use_dim]
            return load_dim, use_dim
    raise ValueError('the source pipeline has no LoadSSLPointsFromFile (needed for load_dim / use_dim)')


def source_configs(cfg: Config, name: str | None) -> list[tuple[str, dict]]:
    """(name, dataset config) of every source of the config's training dataset."""
    from mmssl.datasets.multi_source import default_source_names

    ds = copy.deepcopy(cfg.train_dataloader.dataset)
    if str(ds.get('type', '')).split('.')[-1] != 'MultiSourceDataset':
        return [(name or ds.get('type', 'source0'), ds)]
    sources = [dict(s) for s in ds['sources']]
    for src in sources:
        if 'pipeline' not in src and ds.get('pipeline') is not None:
            src['pipeline'] = ds['pipeline']
    names = ds.get('names') or default_source_names(sources)
    return list(zip(names, sources))


def compute_stats(
    cfg: Config, columns: list[int], name: str | None = None, max_samples: int | None = None
) -> dict:
    """The statistics document of the config's sources (see the module docstring)."""
    from mmssl.datasets.transforms.source_norm import point_file_moments
    from mmssl.registry import DATASETS

    stats = {}
    for src_name, src in source_configs(cfg, name):
        load_dim, use_dim = _loader_dims(src.get('pipeline', []))
        if max(columns) >= len(use_dim):
            raise ValueError(f'source {src_name!r} loads {len(use_dim)} columns; cannot measure {columns}')
        dataset = DATASETS.build(dict(src, pipeline=[]))
        count = len(dataset) if max_samples is None else min(max_samples, len(dataset))
        if count == 0:
            raise ValueError(f'source {src_name!r} ({src.get("ann_file")}) has no samples')
        files = (dataset.get_data_info(i)['lidar_points']['lidar_path'] for i in range(count))
        moments = point_file_moments(files, load_dim, columns, use_dim)
        stats[str(src_name)] = dict(
            columns=list(columns),
            mean=moments.mean.tolist(),
            std=moments.std.tolist(),
            count=int(moments.count),
            samples=count,
        )
    return stats


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from mmssl.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    stats = compute_stats(cfg, list(args.columns), args.name, args.max_samples)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(stats, indent=2) + '\n')
    print(json.dumps(stats, indent=2))
    return stats


if __name__ == '__main__':
    main()
