"""Map layers of the synthetic world: each scene's road frame in ``maps/road_frames.json``.

The ground of a scene is the analytic road of :mod:`.road` placed in the global frame by the
scene's road frame (``SceneLayout.road_origin``, ``road_yaw``), so recording that frame per
scene is enough to rasterise the map layers in any sample's frame. File format
(:data:`ROAD_FRAMES_FILE`, JSON, written by ``generate_world`` and by
``tools/add_map_layers.py`` for worlds generated before it existed)::

    {
      "format": "mmssl-synthetic-road-frames", "format_version": 1,
      "seed": 0,
      "frame": "<how road coordinates map to global ones>",
      "layers": {"drivable_area": {"kind": "band", "abs_y": [0.0, 7.0]}, ...},   # road.map_layer_bands()
      "scenes": [
        {"scene_idx": 0, "name": "scene-0061", "scene_token": "...",
         "road_origin": [x, y], "road_yaw": yaw, "sample_tokens": ["...", ...]},
        ...
      ]
    }

A global point ``p`` has road coordinates ``R(-road_yaw) @ (p_xy - road_origin)``. The nuScenes
tables are unchanged (``map`` still lists one placeholder mask per location, as the devkit
expects): the map layers are this file only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmssl.utils.atomic_io import atomic_write_bytes

from .road import map_layer_bands
from .scene import SceneLayout

__all__ = [
    'ROAD_FRAMES_FILE',
    'ROAD_FRAME_KEY',
    'RoadFrames',
    'load_road_frames',
    'road_frame_record',
    'road_frames_document',
    'recompute_road_frames',
    'write_road_frames',
]

#: Path of the road-frame file relative to the dataset root.
ROAD_FRAMES_FILE = 'maps/road_frames.json'
#: Key of a scene's road-frame record among the records ``capture_scene`` returns.
ROAD_FRAME_KEY = 'road_frame'
FORMAT = 'mmssl-synthetic-road-frames'
FORMAT_VERSION = 1
_FRAME_DOC = 'road xy = R(-road_yaw) @ (global xy - road_origin); road x along the road, y to the left'
#: The command that writes the file for an existing world (named in errors).
ADD_COMMAND = 'python tools/add_map_layers.py {root}'


def road_frame_record(
    layout: SceneLayout, scene_idx: int, name: str, scene_token: str, sample_tokens: list[str]
) -> dict:
    """The ``scenes`` entry of one scene (JSON-ready: plain floats and strings)."""
    return dict(
        scene_idx=int(scene_idx),
        name=name,
        scene_token=scene_token,
        road_origin=[float(v) for v in layout.road_origin],
        road_yaw=float(layout.road_yaw),
        sample_tokens=list(sample_tokens),
    )


def road_frames_document(seed: int, records: list[dict]) -> dict:
    """The whole file's content from the scene records (sorted by scene index)."""
    return dict(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        seed=int(seed),
        frame=_FRAME_DOC,
        layers=map_layer_bands(),
        scenes=sorted(records, key=lambda r: r['scene_idx']),
    )


def write_road_frames(root: str | Path, seed: int, records: list[dict]) -> Path:
    """Write ``root/maps/road_frames.json`` atomically; returns its path."""
    path = Path(root) / ROAD_FRAMES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(road_frames_document(seed, records), indent=1)
    atomic_write_bytes(text.encode(), path)
    return path


@dataclass(frozen=True)
class RoadFrames:
    """A loaded road-frame file.

    Attributes:
        path: the file.
        layers: layer name -> band definition (see :func:`.road.map_layer_bands`).
        by_sample: sample token -> (road_origin (2,), road_yaw).
    """

    path: Path
    layers: dict[str, dict]
    by_sample: dict[str, tuple[np.ndarray, float]]

    def frame_of(self, sample_token: str) -> tuple[np.ndarray, float]:
        """``(road_origin (2,), road_yaw)`` of the scene of a sample; KeyError naming the file."""
        try:
            return self.by_sample[sample_token]
        except KeyError:
            raise KeyError(
                f'sample {sample_token!r} is in no scene of {self.path} '
                f'({len(self.by_sample)} samples): the file belongs to another world?'
            ) from None


def load_road_frames(root: str | Path) -> RoadFrames:
    """Load ``root/maps/road_frames.json``.

    Raises:
        FileNotFoundError: naming the file and the command that writes it.
        ValueError: if the file is not of this format.
    """
    path = Path(root) / ROAD_FRAMES_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f'map layers need the road frames {path}, which this world lacks (generated before '
            f'map layers existed, or not a synthetic world); write it with '
            f'`{ADD_COMMAND.format(root=root)}`'
        )
    doc = json.loads(path.read_text())
    if doc.get('format') != FORMAT or doc.get('format_version') != FORMAT_VERSION:
        raise ValueError(
            f'{path}: format {doc.get("format")!r} version {doc.get("format_version")!r}; '
            f'expected {FORMAT!r} version {FORMAT_VERSION}'
        )
    by_sample = {}
    for scene in doc['scenes']:
        frame = (np.asarray(scene['road_origin'], dtype=np.float64), float(scene['road_yaw']))
        for token in scene['sample_tokens']:
            by_sample[token] = frame
    return RoadFrames(path=path, layers=doc['layers'], by_sample=by_sample)


def _load_table(root: Path, version: str, name: str) -> list[dict]:
    path = root / version / f'{name}.json'
    if not path.is_file():
        raise FileNotFoundError(f'nuScenes table {path} not found')
    return json.loads(path.read_text())


def recompute_road_frames(root: str | Path, check_poses: bool = True) -> dict:
    """The road-frame document of an existing world, recomputed without rendering.

    The scene layouts are a deterministic function of the world's seed, the scene index (the
    position of the scene's name in the sorted scene names) and the settings recorded in
    ``root/synthetic_world.json`` (``seed``, ``train_scenes``, ``val_scenes``, ``version``,
    ``settings.samples_per_scene``, ``sweeps_per_sample``, ``objects_per_scene``); the scene and
    sample tokens are read from the world's tables.

    Args:
        root: world root (holds ``synthetic_world.json`` and ``<version>/*.json``).
        check_poses: verify that every scene's first LIDAR_TOP ego pose in the tables equals the
            recomputed layout's (catches a generator that changed since the world was made).

    Returns:
        The document :func:`write_road_frames` writes.

    Raises:
        FileNotFoundError: without ``synthetic_world.json`` or the tables.
        ValueError: if a scene, its samples or its ego pose do not match the recomputation.
    """
    from .capture import scene_layout

    root = Path(root)
    summary_path = root / 'synthetic_world.json'
    if not summary_path.is_file():
        raise FileNotFoundError(
            f'{summary_path} not found: {root} is not a synthetic world (its settings are needed '
            'to recompute the scene layouts)'
        )
    summary = json.loads(summary_path.read_text())
    settings = summary['settings']
    version = summary['version']
    names = sorted(summary['train_scenes'] + summary['val_scenes'])
    scenes = {s['name']: s for s in _load_table(root, version, 'scene')}
    samples_by_scene: dict[str, list[dict]] = {}
    for sample in _load_table(root, version, 'sample'):
        samples_by_scene.setdefault(sample['scene_token'], []).append(sample)
    lidar_pose = {}
    if check_poses:
        poses = {p['token']: p for p in _load_table(root, version, 'ego_pose')}
        for sd in _load_table(root, version, 'sample_data'):
            if sd['is_key_frame'] and '__LIDAR_TOP__' in sd['filename']:
                lidar_pose[sd['sample_token']] = poses[sd['ego_pose_token']]
    records = []
    for idx, name in enumerate(names):
        if name not in scenes:
            raise ValueError(f'{summary_path} lists {name}, which {root / version}/scene.json lacks')
        scene = scenes[name]
        samples = sorted(samples_by_scene.get(scene['token'], []), key=lambda s: s['timestamp'])
        if len(samples) != settings['samples_per_scene']:
            raise ValueError(
                f'{name}: {len(samples)} samples in {root / version}/sample.json, '
                f'{settings["samples_per_scene"]} per scene in {summary_path}'
            )
        _, layout = scene_layout(
            summary['seed'],
            idx,
            settings['samples_per_scene'],
            settings['sweeps_per_sample'],
            settings['objects_per_scene'],
        )
        if check_poses:
            recorded = np.asarray(lidar_pose[samples[0]['token']]['translation'][:2])
            expected = layout.ego_pose(0.0)[:2, 3]
            if not np.allclose(recorded, expected, atol=1e-6):
                raise ValueError(
                    f'{name} (scene index {idx}): the first LIDAR_TOP ego pose in the tables is at '
                    f'{recorded.tolist()}, the recomputed layout puts it at {expected.tolist()}: the '
                    'world was generated by a different version of the scene generator'
                )
        records.append(road_frame_record(layout, idx, name, scene['token'], [s['token'] for s in samples]))
    return road_frames_document(summary['seed'], records)
