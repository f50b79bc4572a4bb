"""Write a label-efficient training subset of an MMDet3D v1.1 info file, sampled by scene.

Example::

    python tools/make_label_split.py data/nuscenes/nuscenes_infos_train.pkl \
        --fraction 0.01 --seed 0 --out data/nuscenes/splits/nuscenes_infos_train_frac0.01.pkl

The subsets of one seed are nested (1% inside 5% inside 10%) and keep at least one scene;
see ``mmssl/utils/label_split.py`` for how a frame's scene is found. Besides OUT, the report
(kept scenes, frames, boxes, achieved fractions) is printed and written to OUT with ``.json``.
Fine-tune with it by pointing the config's training info at OUT::

    python tools/train.py CONFIG --cfg-options train_dataloader.dataset.ann_file=OUT
"""

import argparse
import json
import pickle
import sys
from pathlib import Path

from mmssl.utils.atomic_io import atomic_write_bytes
from mmssl.utils.label_split import make_label_split


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('info_file', help='training info .pkl (MMDet3D v1.1 format)')
    parser.add_argument('--fraction', type=float, required=True, help='fraction of scenes, (0, 1]')
    parser.add_argument('--seed', type=int, default=0, help='seed of the scene permutation')
    parser.add_argument('--out', required=True, help='output .pkl')
    parser.add_argument('--nusc-root', help='nuScenes root with the v1.0-* tables: exact scenes')
    parser.add_argument('--version', default='v1.0-trainval', help='devkit version (--nusc-root)')
    parser.add_argument(
        '--max-gap',
        type=float,
        default=2.0,
        help='seconds between keyframes that start a new scene (log fallback)',
    )
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    info_path = Path(args.info_file)
    if not info_path.is_file():
        sys.exit(f'info file not found: {info_path}')
    with open(info_path, 'rb') as f:
        infos = pickle.load(f)
    subset, report = make_label_split(
        infos, args.fraction, args.seed, args.nusc_root, args.version, args.max_gap
    )
    report['info_file'] = str(info_path)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(pickle.dumps(subset), out)
    atomic_write_bytes(json.dumps(report, indent=2).encode(), out.with_suffix('.json'))
    print(
        f'kept {report["scenes_kept"]}/{report["scenes_total"]} scenes '
        f'({report["fraction_scenes"]:.4f}), {report["frames_kept"]}/{report["frames_total"]} '
        f'frames ({report["fraction_frames"]:.4f}), {report["boxes_kept"]}/'
        f'{report["boxes_total"]} boxes; requested {args.fraction}; scenes from '
        f'{report["scene_source"]} -> {out}'
    )
    return report


if __name__ == '__main__':
    main()
