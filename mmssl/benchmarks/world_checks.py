"""Checks, before any step runs, that a benchmark's data holds what its downstream model reads.

A LiDAR segmentation model (``ModelEntry.lidarseg_labels``) reads per-point labels: each info
entry's ``pts_semantic_mask_path`` (a file name, MMDet3D's converter records it where the dataset
has ``<version>/lidarseg.json``) resolved against ``data_prefix['pts_semantic_mask']``
(``lidarseg/{version}``). Synthetic worlds generated before the world wrote lidarseg labels have
neither the files nor the info key; without this check the harness would make the label splits and
fail in the first fine-tune's data loader.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Sequence

__all__ = ['check_lidarseg_labels']


def _load_infos(path: Path) -> tuple[str | None, list[dict]]:
    """The nuScenes version and the ``data_list`` of an MMDet3D v1.1 info file."""
    with open(path, 'rb') as f:
        infos = pickle.load(f)
    if not isinstance(infos, dict) or 'data_list' not in infos:
        raise ValueError(f'{path}: expected an MMDet3D v1.1 info dict with a data_list')
    return (infos.get('metainfo') or {}).get('version'), list(infos['data_list'])


def _frame(info: dict) -> str:
    """A frame's name for the message: its sample token, else its LiDAR file."""
    return str(info.get('token') or (info.get('lidar_points') or {}).get('lidar_path') or '?')


def _problem(data_root: Path, info_file: Path, mask_prefix: str) -> str | None:
    """What is missing for the frames of one info file, or ``None`` when every label file exists."""
    version, frames = _load_infos(info_file)
    unlabelled = [info for info in frames if not info.get('pts_semantic_mask_path')]
    if unlabelled:
        index = data_root / (version or '<version>') / 'lidarseg.json'
        why = (
            f'{index} does not exist either: the world was made before it wrote lidarseg labels'
            if not index.exists()
            else f'{index} exists: the info files were made before it; recreate them'
        )
        return (
            f'{len(unlabelled)} of {len(frames)} frames of {info_file} have no pts_semantic_mask_path '
            f'(first: {_frame(unlabelled[0])}); {why}'
        )
    folder = data_root / mask_prefix.format(version=version)
    missing = [folder / info['pts_semantic_mask_path'] for info in frames]
    missing = [path for path in missing if not path.exists()]
    if missing:
        return f'{len(missing)} of {len(frames)} label files of {info_file} are missing (first: {missing[0]})'
    return None


def check_lidarseg_labels(
    data_root: Path,
    info_files: Sequence[str],
    model: str,
    regenerate: str,
    mask_prefix: str = 'lidarseg/{version}',
) -> None:
    """Fail unless every frame of ``info_files`` has its lidarseg label file.

    Args:
        data_root: Dataset root (the world).
        info_files: Info files relative to ``data_root`` (training and validation).
        model: The downstream model that needs the labels (for the message).
        regenerate: How to make a world with labels (the message's last sentence).
        mask_prefix: ``data_prefix['pts_semantic_mask']`` of the model's dataset; ``{version}`` is
            the info file's nuScenes version.

    Raises:
        FileNotFoundError: naming the world, the info file, the first unlabelled frame or missing
            label file, and ``regenerate``.
    """
    problems = [
        problem
        for name in info_files
        if (problem := _problem(data_root, data_root / name, mask_prefix)) is not None
    ]
    if problems:
        raise FileNotFoundError(
            f'model {model!r} needs per-point LiDAR segmentation labels, and the world {data_root} has '
            f'none: {"; ".join(problems)}. {regenerate}'
        )
