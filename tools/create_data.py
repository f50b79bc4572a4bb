"""Create MMDet3D info files for a nuScenes-format dataset (real nuScenes or the synthetic world).

Same command line and outputs as MMDet3D 1.4's ``tools/create_data.py nuscenes``; the converter
code is the one shipped in the mmdet3d package (see ``mmssl.datasets.synthetic.infos``).

Example:
    python tools/create_data.py nuscenes --root-path data/synthetic-nuscenes \
        --out-dir data/synthetic-nuscenes --extra-tag nuscenes --version v1.0-mini
"""

from __future__ import annotations

import argparse

from mmssl.datasets.synthetic import create_infos


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Create nuScenes info files (MMDet3D v1.1)')
    parser.add_argument('dataset', choices=('nuscenes',), help='dataset name')
    parser.add_argument('--root-path', required=True, help='dataset root')
    parser.add_argument('--out-dir', default=None, help='output folder (default: root path)')
    parser.add_argument('--extra-tag', default='nuscenes', help='info file name prefix')
    parser.add_argument(
        '--version', default='v1.0-trainval', choices=('v1.0-trainval', 'v1.0-mini', 'v1.0-test')
    )
    parser.add_argument('--max-sweeps', type=int, default=10, help='sweeps per keyframe')
    parser.add_argument(
        '--with-gt-database', action='store_true', help='also build the ground-truth database for GT sampling'
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    paths = create_infos(
        args.root_path,
        args.version,
        out_dir=args.out_dir,
        info_prefix=args.extra_tag,
        max_sweeps=args.max_sweeps,
        with_gt_database=args.with_gt_database,
    )
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
