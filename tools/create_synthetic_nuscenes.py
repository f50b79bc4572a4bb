"""Generate the synthetic nuScenes-format world and its MMDet3D info files.

Example:
    python tools/create_synthetic_nuscenes.py --out data/synthetic-nuscenes
    python tools/create_synthetic_nuscenes.py --out data/synth-200 --scenes 200 --val-ratio 0.2
    python tools/create_synthetic_nuscenes.py --out data/synthetic-nuscenes-64beam --lidar-rig hdl64e --seed 1
    python tools/create_synthetic_nuscenes.py --out data/synth-64b --lidar-beams 64 \
        --lidar-vfov -24.8 2.0 --intensity-scale 0.5

The LiDAR rig (``--lidar-rig``: ``hdl32e``, nuScenes' HDL-32E, the default; ``hdl64e``, KITTI's
HDL-64E with intensities in [0, 1]) can be changed beam by beam with ``--lidar-beams``,
``--lidar-vfov DOWN UP`` (degrees) and ``--intensity-scale``; the rig is recorded under
``settings.lidar`` of ``synthetic_world.json`` and ``WORLD_COMPLETE.json``.

Writes the nuScenes v1.0 tables, samples/, sweeps/, maps/ and the LiDAR semantic labels
lidarseg/ (nuScenes-lidarseg format; ``--no-lidarseg`` leaves them out) under ``--out`` (see
``mmssl.datasets.synthetic.generate_world``), then ``nuscenes_infos_{train,val}.pkl`` with
MMDet3D's converter (the path of ``tools/create_data.py``) unless ``--skip-infos``.

Crash-safe: everything is written into a staging folder beside ``--out`` and published by a
rename after the completeness marker ``WORLD_COMPLETE.json`` is written
(``mmssl.datasets.synthetic.publish``); a killed run leaves no half-written world under
``--out``, and a folder without the marker is regenerated (``make data`` checks the marker).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mmssl.datasets.synthetic import LIDAR_PRESETS, create_infos, generate_world, lidar_spec
from mmssl.datasets.synthetic.publish import publish_world, rebase_info_files, staging_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='dataset root to write')
    parser.add_argument('--scenes', type=int, default=10, help='number of scenes')
    parser.add_argument('--samples-per-scene', type=int, default=20, help='keyframes per scene')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=(180, 320),
        metavar=('H', 'W'),
        help='camera image size (default: nuScenes 900x1600 scaled by 1/5)',
    )
    parser.add_argument(
        '--version',
        choices=('v1.0-mini', 'v1.0-trainval'),
        default=None,
        help='default: v1.0-mini up to 10 scenes, v1.0-trainval above',
    )
    parser.add_argument('--val-ratio', type=float, default=0.2, help='fraction of val scenes')
    parser.add_argument(
        '--sweeps-per-sample', type=int, default=2, help='LiDAR sweeps (20 Hz) before each keyframe'
    )
    parser.add_argument('--lidar-azimuth-steps', type=int, default=540, help='LiDAR firings per revolution')
    parser.add_argument(
        '--lidar-rig', choices=sorted(LIDAR_PRESETS), default='hdl32e', help='LiDAR preset (default: hdl32e)'
    )
    parser.add_argument('--lidar-beams', type=int, default=None, help="beam count (default: the rig's)")
    parser.add_argument(
        '--lidar-vfov',
        type=float,
        nargs=2,
        default=None,
        metavar=('DOWN', 'UP'),
        help="lowest and highest beam elevation in degrees, e.g. -24.8 2.0 (default: the rig's)",
    )
    parser.add_argument(
        '--intensity-scale',
        type=float,
        default=None,
        help="factor on the 0-255 intensity, e.g. 0.5 or 0.00392 (default: the rig's)",
    )
    parser.add_argument('--objects-per-scene', type=int, default=40)
    parser.add_argument(
        '--save-depth', action='store_true', help='also write per-camera depth maps under depth/ (debugging)'
    )
    parser.add_argument(
        '--workers', type=int, default=0, help='processes rendering scenes (0: min(2, CPUs, scenes))'
    )
    parser.add_argument(
        '--no-lidarseg',
        action='store_true',
        help='do not write the LiDAR semantic labels (lidarseg/<version>/*_lidarseg.bin, lidarseg.json)',
    )
    parser.add_argument('--skip-infos', action='store_true', help='do not create info files')
    parser.add_argument(
        '--max-sweeps', type=int, default=10, help='sweeps recorded per keyframe in the info files'
    )
    return parser.parse_args(argv)


def lidar_rig(args: argparse.Namespace):
    """The preset name when no field is overridden (recorded as such), else the edited spec."""
    if args.lidar_beams is None and args.lidar_vfov is None and args.intensity_scale is None:
        return args.lidar_rig
    return lidar_spec(
        args.lidar_rig,
        num_beams=args.lidar_beams,
        elevation=tuple(args.lidar_vfov) if args.lidar_vfov is not None else None,
        intensity_scale=args.intensity_scale,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.time()
    stage = staging_dir(args.out)
    summary = generate_world(
        stage,
        scenes=args.scenes,
        samples_per_scene=args.samples_per_scene,
        seed=args.seed,
        img_size=tuple(args.img_size),
        version=args.version,
        val_ratio=args.val_ratio,
        sweeps_per_sample=args.sweeps_per_sample,
        lidar_azimuth_steps=args.lidar_azimuth_steps,
        lidar=lidar_rig(args),
        objects_per_scene=args.objects_per_scene,
        save_depth=args.save_depth,
        lidarseg=not args.no_lidarseg,
        workers=args.workers,
    )
    gen_seconds = time.time() - start
    if not args.skip_infos:
        paths = create_infos(stage, summary['version'], max_sweeps=args.max_sweeps, quiet=True)
        rebase_info_files(stage, args.out, list(paths.values()))
        summary['infos'] = {k: str(Path(args.out) / Path(v).name) for k, v in paths.items()}
    publish_world(stage, args.out, summary)
    print(
        json.dumps(
            dict(
                summary, generation_seconds=round(gen_seconds, 1), total_seconds=round(time.time() - start, 1)
            ),
            indent=2,
        )
    )


if __name__ == '__main__':
    main()
