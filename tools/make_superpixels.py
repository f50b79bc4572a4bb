"""Compute the superpixels of every (sample, camera) of an info file once, for LoadSuperpixels.

    python tools/make_superpixels.py INFO_PKL DATA_ROOT CACHE_ROOT [--source slic]
        [--source-options n_segments=150 downscale=1] [--max-samples N] [--workers 4]
        [--dataset-type NuScenesSSLDataset] [--img-prefix PREFIX] [--cameras CAM_FRONT ...]

Maps go to ``CACHE_ROOT/<source>/<sample token>/<camera>.png`` (uint16 PNG) with
``CACHE_ROOT/<source>/meta.json``; see ``mmssl/datasets/superpixels/storage.py`` and
docs/superpixels.md. A re-run skips the finished maps and computes only the missing ones; maps are
written atomically, so an interrupted run leaves no truncated file.
"""

from __future__ import annotations

import argparse
import json

from mmengine.config import DictAction

from mmssl.utils import register_all_modules


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('info', help='MMDet3D v1.1 info .pkl (absolute, or relative to DATA_ROOT)')
    parser.add_argument('data_root', help="folder the info file's image paths are relative to")
    parser.add_argument('cache_root', help='root of the superpixel cache')
    parser.add_argument('--source', default='slic', help='registered superpixel source (default: slic)')
    parser.add_argument(
        '--source-options',
        nargs='+',
        action=DictAction,
        default={},
        help='source settings, e.g. n_segments=300',
    )
    parser.add_argument('--max-samples', type=int, help='only the first N samples')
    parser.add_argument('--workers', type=int, default=1, help='processes segmenting samples in parallel')
    parser.add_argument('--dataset-type', default='NuScenesSSLDataset', help='dataset class of the info file')
    parser.add_argument(
        '--img-prefix',
        help="folder of the images below DATA_ROOT for every camera ('' = directly in it); "
        "default: nuScenes' samples/<camera>",
    )
    parser.add_argument(
        '--cameras', nargs='+', help='cameras to segment (default: every camera with an image)'
    )
    parser.add_argument('--log-interval', type=float, default=10.0, help='seconds between progress lines')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    from mmssl.datasets.superpixels import build_superpixel_cache

    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    stats = build_superpixel_cache(
        args.info,
        args.data_root,
        args.cache_root,
        source=dict(type=args.source, **args.source_options),
        dataset_type=args.dataset_type,
        img_prefix=args.img_prefix,
        cameras=args.cameras,
        max_samples=args.max_samples,
        workers=args.workers,
        log=lambda line: print(line, flush=True),
        log_interval=args.log_interval,
    )
    rate = f'{stats["images_per_s"]:.2f} images/s' if stats['computed'] else 'nothing computed'
    mean = f'{stats["mean_segments"]:.1f}' if stats['mean_segments'] is not None else '-'
    print(
        f'{stats["folder"]}: {stats["samples"]} samples, {stats["images"]} images: '
        f'{stats["computed"]} computed, '
        f'{stats["skipped"]} skipped (complete), {len(stats["failed"])} samples failed; '
        f'mean segments per computed image {mean}; {rate}; {stats["seconds"]:.1f} s',
        flush=True,
    )
    for line in stats['failed']:
        print(f'not segmented (bad sample): {line}', flush=True)
    print(json.dumps(stats), flush=True)
    return stats


if __name__ == '__main__':
    main()
