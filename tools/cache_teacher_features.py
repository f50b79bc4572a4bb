"""Compute a frozen teacher's features for every (sample, camera) of a config's dataset, once.

    python tools/cache_teacher_features.py CONFIG [--out DIR] [--split train] [--device cuda]
        [--cfg-options model.target_generator.teacher.checkpoint=weights/dinov2_vits14_pretrain.pth]

The teacher is the config's ``model.target_generator`` (a ``DINOv2Teacher``/``CLIPTeacher``, or a
``CachedTeacherFeatures`` wrapping one, whose ``cache_root`` is the default ``--out``). Features
go to ``<out>/<Teacher>_<key hash>/`` (see ``mmssl/models/target_generators/feature_cache.py``);
a re-run skips complete entries and recomputes truncated or corrupt ones.
"""

from __future__ import annotations

import argparse
import json

from mmengine.config import Config, DictAction

from mmssl.utils import register_all_modules


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config whose model.target_generator is the teacher')
    parser.add_argument('--out', help='cache root (default: model.target_generator.cache_root)')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'], help='dataloader')
    parser.add_argument('--device', default='cpu', help='where the teacher runs (cpu, cuda)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    from mmssl.models.target_generators.cache_builder import build_feature_cache

    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    stats = build_feature_cache(
        cfg, out=args.out, split=args.split, device=args.device, progress=not args.no_progress
    )
    rate = (
        f'{stats["computed"] / stats["seconds"]:.3f} samples/s' if stats['computed'] else 'nothing computed'
    )
    per_sample = stats['bytes'] / max(stats['samples'], 1)
    print(
        f'\n{stats["folder"]}: {stats["samples"]} samples, {stats["computed"]} computed, '
        f'{stats["skipped"]} skipped (complete), {rate}, {per_sample / 1e6:.3f} MB per sample, '
        f'{stats["seconds"]:.1f} s',
        flush=True,
    )
    for line in stats['failed']:
        print(f'not cached (bad sample): {line}', flush=True)
    print(json.dumps(stats), flush=True)
    return stats


if __name__ == '__main__':
    main()
