"""Write the map layers (``maps/road_frames.json``) of a synthetic world generated before them.

Example:
    python tools/add_map_layers.py data/synthetic-nuscenes-110

Nothing is re-rendered: the scene layouts (and so the road frames) are a deterministic function
of the seed and settings recorded in ``DATA_ROOT/synthetic_world.json`` and of the scene index,
so they are recomputed (``mmssl.datasets.synthetic.maps.recompute_road_frames``) and the file
is the one a fresh generation of the same world writes. Each scene's first ego pose in the
tables is checked against the recomputed layout (``--no-check-poses`` skips it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mmssl.datasets.synthetic.maps import ROAD_FRAMES_FILE, recompute_road_frames, write_road_frames


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='synthetic world root (holds synthetic_world.json)')
    parser.add_argument(
        '--no-check-poses',
        action='store_true',
        help='do not compare the tables ego poses with the recomputed layouts',
    )
    parser.add_argument('--force', action='store_true', help=f'overwrite an existing {ROAD_FRAMES_FILE}')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    doc = recompute_road_frames(args.data_root, check_poses=not args.no_check_poses)
    target = Path(args.data_root) / ROAD_FRAMES_FILE
    if target.exists() and not args.force:
        existing = json.loads(target.read_text())
        if existing != doc:
            raise SystemExit(
                f'{target} exists and differs from the recomputed road frames; pass --force to replace it'
            )
        print(f'{target}: already up to date ({len(doc["scenes"])} scenes)')
        return
    path = write_road_frames(args.data_root, doc['seed'], doc['scenes'])
    print(f'wrote {path} ({len(doc["scenes"])} scenes, layers {sorted(doc["layers"])})')


if __name__ == '__main__':
    main()
