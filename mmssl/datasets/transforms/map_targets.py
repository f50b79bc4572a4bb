"""``LoadBEVMapSegmentation``: BEV map-layer (and vehicle) masks of a synthetic-world sample.

The synthetic world's map layers are bands and lines of a straight road, recorded per scene as a
road frame in ``<data_root>/maps/road_frames.json`` (:mod:`mmssl.datasets.synthetic.maps`). For
one sample the BEV grid's cell centres (augmented LiDAR frame, the convention of BEVFusion's
``rasterize_boxes_bev``: centres ``min + step / 2 + i * step``, masks ``(Y, X)`` with y rows)
are mapped back through the recorded ``lidar_aug_matrix`` to the original LiDAR frame, then by
``ego2global @ lidar2ego`` (the info's poses) to the global frame and into the road frame, where
each layer is a test on ``|y|``. So the masks stay aligned with the augmented points and boxes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from mmcv.transforms import BaseTransform

from mmssl.registry import TRANSFORMS

from ..errors import describe_sample
from .calibration import lidar2global

__all__ = ['LoadBEVMapSegmentation', 'bev_cell_centres', 'points_in_boxes_bev', 'rasterize_road_layers']


def bev_cell_centres(xbound: Sequence[float], ybound: Sequence[float]) -> np.ndarray:
    """``(Y, X, 2)`` xy of the cell centres of a BEV grid ``(min, max, step)`` (float64)."""
    xs = np.arange(xbound[0] + xbound[2] / 2, xbound[1], xbound[2])
    ys = np.arange(ybound[0] + ybound[2] / 2, ybound[1], ybound[2])
    gx, gy = np.meshgrid(xs, ys, indexing='xy')
    return np.stack([gx, gy], axis=-1)


def points_in_boxes_bev(xy: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Whether each point lies in the BEV footprint of any box (borders included).

    Args:
        xy: ``(..., 2)`` query points.
        boxes: ``(M, >=7)`` boxes ``x, y, z, x_size, y_size, z_size, yaw`` (MMDet3D LiDAR boxes).

    Returns:
        ``(...)`` bool.
    """
    flat = xy.reshape(-1, 2)
    inside = np.zeros(len(flat), dtype=bool)
    for box in np.asarray(boxes, dtype=np.float64):
        d = flat - box[:2]
        c, s = np.cos(box[6]), np.sin(box[6])
        local_x = c * d[:, 0] + s * d[:, 1]
        local_y = -s * d[:, 0] + c * d[:, 1]
        inside |= (np.abs(local_x) <= box[3] / 2) & (np.abs(local_y) <= box[4] / 2)
    return inside.reshape(xy.shape[:-1])


def rasterize_road_layers(
    road_y: np.ndarray, layers: Mapping[str, dict], names: Sequence[str], divider_width: float
) -> np.ndarray:
    """Masks of map layers given the road-frame y of the query points.

    Args:
        road_y: ``(...)`` road-frame y (metres, left of the centre line positive).
        layers: layer name -> definition, as in ``road_frames.json``: ``kind='band'`` with
            ``abs_y=[lo, hi]`` (``lo <= |y| < hi``) or ``kind='lines'`` with ``abs_y=[c, ...]``
            (within ``divider_width / 2`` of a line ``|y| = c``).
        names: layers to rasterise (``K``).
        divider_width: thickness in metres at which lines are rasterised.

    Returns:
        ``(K, ...)`` bool.
    """
    ay = np.abs(road_y)
    masks = []
    for name in names:
        layer = layers[name]
        if layer['kind'] == 'band':
            lo, hi = layer['abs_y']
            masks.append((ay >= lo) & (ay < hi))
        elif layer['kind'] == 'lines':
            centres = np.asarray(layer['abs_y'], dtype=np.float64)
            dist = np.abs(ay[..., None] - centres).min(axis=-1)
            masks.append(dist < divider_width / 2)
        else:
            raise ValueError(f'map layer {name!r}: unknown kind {layer["kind"]!r} (band or lines)')
    return np.stack(masks) if masks else np.zeros((0, *ay.shape), dtype=bool)


@TRANSFORMS.register_module()
class LoadBEVMapSegmentation(BaseTransform):
    """Rasterise map layers (and box classes) of one sample into ``results['gt_bev_seg']``.

    Place it after the LiDAR augmentations (``SSLGlobalRotScaleTrans``, ``SSLRandomFlip3D``,
    which record ``lidar_aug_matrix``) and the box filters, and pack ``'gt_bev_seg'`` with
    ``PackSSLInputs(keys=[..., 'gt_bev_seg'])``: it becomes ``data_sample.gt_bev_seg.masks``
    ``(K, Y, X)`` bool, the target ``BEVSegHead`` and ``BEVSegMetric`` read. It produces labels:
    the label-free check refuses it in pre-training pipelines.

    Reads ``results['token']`` (sample token), ``results['ego2global']`` and
    ``results['lidar_points']['lidar2ego']`` (MMDet3D v1.1 infos), ``lidar_aug_matrix`` (identity
    if absent) and, for box classes, ``gt_bboxes_3d`` / ``gt_labels_3d`` (augmented, training) or
    else ``eval_ann_info`` (original frame, test mode).

    Args:
        classes: output classes in order (``K``): map layers of the file (``'drivable_area'``,
            ``'carpark_area'``, ``'walkway'``, ``'divider'``) and box classes.
        xbound, ybound: ``(min, max, step)`` of the grid in metres, LiDAR frame (as BEVSegHead).
        class_groups: box classes -> detection class names (``{'vehicle': ['car', ...]}``); a
            class in ``dataset_classes`` but not here is its own group.
        dataset_classes: detection class names in label order (needed for box classes).
        divider_width: thickness in metres at which the divider lines are rasterised (a cell is
            divider where its centre is within half of it of a line).
        data_root: world root holding ``maps/road_frames.json``; ``None`` (default): the nearest
            folder above the sample's ``lidar_path`` that holds it (the dataset root of a
            nuScenes layout), so overriding the dataset's ``data_root`` is enough. Each file is
            loaded once.
    """

    def __init__(
        self,
        classes: Sequence[str],
        xbound: Sequence[float] = (-50.0, 50.0, 0.5),
        ybound: Sequence[float] = (-50.0, 50.0, 0.5),
        class_groups: Mapping[str, Sequence[str]] | None = None,
        dataset_classes: Sequence[str] | None = None,
        divider_width: float = 0.5,
        data_root: str | None = None,
    ) -> None:
        self.data_root = str(data_root) if data_root is not None else None
        self.classes = list(classes)
        self.xbound = [float(v) for v in xbound]
        self.ybound = [float(v) for v in ybound]
        self.divider_width = float(divider_width)
        if self.divider_width <= 0:
            raise ValueError(f'divider_width must be positive, got {divider_width}')
        groups = dict(class_groups or {})
        known = list(dataset_classes or [])
        self.box_labels: dict[str, list[int]] = {}
        for name in self.classes:
            if name in groups or name in known:
                members = list(groups.get(name, [name]))
                unknown = [m for m in members if m not in known]
                if unknown:
                    raise ValueError(
                        f'LoadBEVMapSegmentation class {name!r}: {unknown} not in dataset_classes {known}'
                    )
                self.box_labels[name] = [known.index(m) for m in members]
        self.map_names = [n for n in self.classes if n not in self.box_labels]
        self._frames: dict[str, object] = {}

    def _world_root(self, results: dict) -> str:
        """The world root of a sample (``data_root`` or the folder found above its LiDAR file)."""
        from mmssl.datasets.synthetic.maps import ADD_COMMAND, ROAD_FRAMES_FILE

        if self.data_root is not None:
            return self.data_root
        lidar_path = results.get('lidar_points', {}).get('lidar_path') or results.get('lidar_path')
        if lidar_path is None:
            raise KeyError(
                f'sample {results.get("token", "?")}: no lidar_path to find {ROAD_FRAMES_FILE} '
                'from; set LoadBEVMapSegmentation(data_root=...)'
            )
        for folder in Path(lidar_path).absolute().parents:
            if (folder / ROAD_FRAMES_FILE).is_file():
                return str(folder)
        raise FileNotFoundError(
            f'sample {results.get("token", "?")}: no {ROAD_FRAMES_FILE} in any folder above '
            f'{lidar_path} (a synthetic world generated before map layers existed, or not a '
            f'synthetic world); write it with `{ADD_COMMAND.format(root="DATA_ROOT")}`'
        )

    def _road_frames(self, results: dict):
        from mmssl.datasets.synthetic.maps import load_road_frames

        root = self._world_root(results)
        if root not in self._frames:
            frames = load_road_frames(root)
            missing = [n for n in self.map_names if n not in frames.layers]
            if missing:
                raise ValueError(
                    f'LoadBEVMapSegmentation classes {missing} are neither map layers of {frames.path} '
                    f'({sorted(frames.layers)}) nor box classes (class_groups / dataset_classes)'
                )
            self._frames[root] = frames
        return self._frames[root]

    def _boxes(self, results: dict) -> tuple[np.ndarray, np.ndarray, bool]:
        """``(boxes (M, >=7), labels (M,), augmented)`` of the sample."""
        if 'gt_bboxes_3d' in results:
            boxes, labels, augmented = results['gt_bboxes_3d'], results['gt_labels_3d'], True
        elif results.get('eval_ann_info') and 'gt_bboxes_3d' in results['eval_ann_info']:
            ann = results['eval_ann_info']
            boxes, labels, augmented = ann['gt_bboxes_3d'], ann['gt_labels_3d'], False
        else:
            raise KeyError(
                f'sample {results.get("token", "?")}: box classes {list(self.box_labels)} need '
                'gt_bboxes_3d (LoadAnnotations3D before this transform) or eval_ann_info (test mode)'
            )
        tensor = getattr(boxes, 'tensor', boxes)
        tensor = tensor.numpy() if hasattr(tensor, 'numpy') else np.asarray(tensor)
        return tensor.astype(np.float64).reshape(len(tensor), -1), np.asarray(labels), augmented

    def transform(self, results: dict) -> dict:
        """Add ``results['gt_bev_seg']`` ``(K, Y, X)`` bool."""
        token = results.get('token')
        aug = np.asarray(results.get('lidar_aug_matrix', np.eye(4)), dtype=np.float64)
        if np.abs(aug[:2, 2]).max() > 1e-9 or np.abs(aug[2, :2]).max() > 1e-9:
            raise ValueError(
                f'sample {token}: lidar_aug_matrix mixes z into x/y (tilt); BEV masks need a '
                f'rotation about z, flips, scaling and translation only:\n{aug}'
            )
        cells = bev_cell_centres(self.xbound, self.ybound)  # (Y, X, 2), augmented frame
        orig = np.linalg.solve(aug[:2, :2], (cells - aug[:2, 3]).reshape(-1, 2).T).T.reshape(cells.shape)
        masks = np.zeros((len(self.classes), *cells.shape[:2]), dtype=bool)
        if self.map_names:
            frames = self._road_frames(results)
            origin, yaw = frames.frame_of(token)
            to_global = lidar2global(results, describe_sample(results))
            glob = orig @ to_global[:2, :2].T + to_global[:2, 3]  # cells at LiDAR z = 0
            rel = glob - origin
            road_y = -np.sin(yaw) * rel[..., 0] + np.cos(yaw) * rel[..., 1]
            layer_masks = rasterize_road_layers(road_y, frames.layers, self.map_names, self.divider_width)
            for name, mask in zip(self.map_names, layer_masks):
                masks[self.classes.index(name)] = mask
        if self.box_labels:
            boxes, labels, augmented = self._boxes(results)
            query = cells if augmented else orig
            for name, ids in self.box_labels.items():
                masks[self.classes.index(name)] = points_in_boxes_bev(query, boxes[np.isin(labels, ids)])
        results['gt_bev_seg'] = masks
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(classes={self.classes}, xbound={self.xbound}, '
            f'ybound={self.ybound}, divider_width={self.divider_width}, data_root={self.data_root!r})'
        )
