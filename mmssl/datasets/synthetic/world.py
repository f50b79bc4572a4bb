"""``generate_world``: a synthetic dataset in the nuScenes v1.0 format.

Scenes take official nuScenes scene names from ``nuscenes.utils.splits`` so that the devkit's split
logic, MMDet3D's converter and ``NuScenesMetric`` apply unchanged: worlds of up to 10 scenes use
v1.0-mini names (mini_train / mini_val), larger worlds v1.0-trainval names (train / val, up to
700 + 150 scenes).
"""

from __future__ import annotations

import json
import os
import time
from functools import partial
from pathlib import Path

from .capture import CaptureConfig, capture_scene
from .sensors import LidarSpec, lidar_spec
from .tables import WorldTables

__all__ = ['generate_world', 'select_scene_names']

_VERSIONS = ('v1.0-mini', 'v1.0-trainval')


def select_scene_names(num_scenes: int, version: str, val_ratio: float = 0.2) -> tuple[list[str], list[str]]:
    """Official train and val scene names for a world of ``num_scenes`` scenes.

    Args:
        num_scenes: total number of scenes (>= 1).
        version: 'v1.0-mini' (at most 8 train + 2 val scenes) or 'v1.0-trainval' (700 + 150).
        val_ratio: fraction of val scenes; at least one val scene when there are two or more
            scenes and the ratio is positive.

    Returns:
        (train names, val names), each in the order of the devkit's split lists.
    """
    from nuscenes.utils import splits

    if version not in _VERSIONS:
        raise ValueError(f'version must be one of {_VERSIONS}, got {version!r}')
    if num_scenes < 1:
        raise ValueError(f'need at least one scene, got {num_scenes}')
    if not 0.0 <= val_ratio < 1.0:
        raise ValueError(f'val_ratio must be in [0, 1), got {val_ratio}')
    train_pool, val_pool = (
        (splits.mini_train, splits.mini_val) if version == 'v1.0-mini' else (splits.train, splits.val)
    )
    num_val = round(num_scenes * val_ratio)
    if val_ratio > 0 and num_scenes >= 2:
        num_val = max(num_val, 1)
    num_val = min(num_val, len(val_pool))
    num_train = num_scenes - num_val
    if num_train > len(train_pool):
        raise ValueError(
            f'{version} has {len(train_pool)} train and {len(val_pool)} val scene names; '
            f'cannot name {num_scenes} scenes with val_ratio={val_ratio} '
            f'(use v1.0-trainval for more than 10 scenes)'
        )
    return list(train_pool[:num_train]), list(val_pool[:num_val])


def generate_world(
    out_dir: str | Path,
    scenes: int = 10,
    samples_per_scene: int = 20,
    seed: int = 0,
    img_size: tuple[int, int] = (180, 320),
    version: str | None = None,
    val_ratio: float = 0.2,
    sweeps_per_sample: int = 2,
    lidar_azimuth_steps: int = 540,
    lidar: str | LidarSpec = 'hdl32e',
    objects_per_scene: int = 40,
    annotation_range: float = 60.0,
    save_depth: bool = False,
    lidarseg: bool = True,
    jpeg_quality: int = 90,
    workers: int = 0,
    progress: bool = True,
) -> dict:
    """Generate a synthetic nuScenes-format dataset.

    Writes ``out_dir/<version>/*.json`` (the 13 nuScenes tables), ``samples/LIDAR_TOP/*.pcd.bin``
    (float32, 5 values per point: x, y, z, intensity (0-255 times the rig's intensity scale),
    ring 0 .. num_beams - 1, LIDAR_TOP frame),
    ``sweeps/LIDAR_TOP/*.pcd.bin``, ``samples/CAM_*/*.jpg``, ``maps/*.png`` and
    ``synthetic_world.json`` (the generation settings), with ``lidarseg`` the LiDAR semantic
    labels of every keyframe sweep in the nuScenes-lidarseg format
    (``lidarseg/<version>/<sample_data token>_lidarseg.bin``, uint8, one lidarseg category index
    per point of the ``.pcd.bin``, and ``<version>/lidarseg.json``; see
    :mod:`.point_labels`), and with ``save_depth`` also ``depth/CAM_*/<image stem>.npy``
    (H, W) float32 camera-z depth maps (0 = sky).

    Args:
        out_dir: dataset root.
        scenes: number of scenes.
        samples_per_scene: keyframes per scene (2 Hz).
        seed: random seed; the world is a deterministic function of all arguments.
        img_size: (H, W) of the camera images. The default (180, 320) is nuScenes' 900 x 1600
            scaled by 1/5, so the intrinsics are nuScenes' scaled by 1/5 (same fields of view).
        version: 'v1.0-mini' or 'v1.0-trainval'; ``None`` picks mini for up to 10 scenes.
        val_ratio: fraction of val scenes.
        sweeps_per_sample: non-keyframe LiDAR sweeps (20 Hz) before each keyframe.
        lidar_azimuth_steps: LiDAR firings per revolution (540 = 0.67 deg); replaces the
            ``azimuth_steps`` of ``lidar``.
        lidar: the LiDAR rig: a preset of :data:`~.sensors.LIDAR_PRESETS` ('hdl32e', the
            nuScenes HDL-32E and the default, or 'hdl64e', KITTI-like: 64 beams, +2 / -24.8 deg,
            intensities in [0, 1]) or a :class:`~.sensors.LidarSpec` (beam count, vertical field
            of view, intensity scale). Recorded under ``settings.lidar`` of the summary.
        objects_per_scene: annotated objects to place per scene (fewer when space runs out).
        annotation_range: objects farther than this from the ego (metres) are not annotated.
        save_depth: also write per-camera depth maps (for tests and debugging).
        lidarseg: write the LiDAR semantic labels (one byte per keyframe point, no extra ray
            casting: the labels come from the hits that make the points).
        jpeg_quality: JPEG quality of the images.
        workers: processes rendering scenes in parallel; 0 = min(2, CPU count, scenes). The
            output does not depend on it.
        progress: show a progress bar over scenes.

    Returns:
        Summary: version, train / val scene names, numbers of samples and annotations, seconds.
    """
    start = time.time()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    if version is None:
        version = 'v1.0-mini' if scenes <= 10 else 'v1.0-trainval'
    train, val = select_scene_names(scenes, version, val_ratio)
    names = sorted(train + val)
    height, width = img_size
    if height < 8 or width < 8:
        raise ValueError(f'img_size must be at least 8 x 8, got {img_size}')
    if samples_per_scene < 1 or sweeps_per_sample < 0:
        raise ValueError(
            'need samples_per_scene >= 1 and sweeps_per_sample >= 0, got '
            f'{samples_per_scene} and {sweeps_per_sample}'
        )
    rig = lidar_spec(lidar, azimuth_steps=lidar_azimuth_steps)
    cfg = CaptureConfig(
        root=str(root),
        seed=seed,
        samples_per_scene=samples_per_scene,
        img_size=(int(height), int(width)),
        sweeps_per_sample=sweeps_per_sample,
        lidar=rig,
        objects_per_scene=objects_per_scene,
        annotation_range=annotation_range,
        save_depth=save_depth,
        jpeg_quality=jpeg_quality,
        version=version,
        lidarseg=lidarseg,
    )
    tables = WorldTables(seed)
    jobs = list(enumerate(names))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs) * samples_per_scene, desc='synthetic nuScenes', unit='sample')
    if workers <= 0:
        workers = min(2, os.cpu_count() or 1, len(jobs))
    results = []
    if workers > 1:
        import multiprocessing as mp

        method = 'fork' if 'fork' in mp.get_all_start_methods() else 'spawn'
        with mp.get_context(method).Pool(workers) as pool:
            for records in pool.imap(partial(_capture_job, cfg, tables), jobs):
                results.append(records)
                if bar is not None:
                    bar.update(samples_per_scene)
    else:
        tick = (lambda: bar.update(1)) if bar is not None else None  # noqa: E731
        for scene_idx, name in jobs:
            results.append(capture_scene(cfg, tables, scene_idx, name, on_sample=tick))
    if bar is not None:
        bar.close()
    for records in results:
        tables.extend(records)
    tables.write(root, version)
    summary = dict(
        version=version,
        train_scenes=train,
        val_scenes=val,
        seed=seed,
        img_size=[height, width],
        samples=len(tables.tables['sample']),
        annotations=len(tables.tables['sample_annotation']),
        instances=len(tables.tables['instance']),
        seconds=round(time.time() - start, 2),
        settings=dict(
            samples_per_scene=samples_per_scene,
            sweeps_per_sample=sweeps_per_sample,
            lidar_azimuth_steps=lidar_azimuth_steps,
            lidar=dict(preset=lidar if isinstance(lidar, str) else None, **rig.to_dict()),
            objects_per_scene=objects_per_scene,
            annotation_range=annotation_range,
            val_ratio=val_ratio,
            jpeg_quality=jpeg_quality,
            lidarseg=lidarseg,
        ),
    )
    with open(root / 'synthetic_world.json', 'w') as f:
        json.dump(summary, f, indent=2)
    return summary


def _capture_job(cfg: CaptureConfig, tables: WorldTables, job: tuple[int, str]) -> dict:
    scene_idx, name = job
    return capture_scene(cfg, tables, scene_idx, name)
