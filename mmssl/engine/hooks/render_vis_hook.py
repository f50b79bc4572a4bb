"""Visual feedback for neural-rendering pre-training (NS-MAE, UniPAD, any ``render_maps`` model).

Every ``interval`` training iterations the hook renders the current batch's first sample
densely (``model.render_maps``) and writes one PNG with, per rendered view image (camera, BEV),
the masked input, the rendered colour beside the colour target and the rendered depth beside the
LiDAR depth target. The PNG goes to
``<work_dir>/render_vis/iter_<n>.png`` and to the visualiser's backends (TensorBoard,
local) as image ``render``.
"""

from __future__ import annotations

import os
from typing import Dict, List

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmssl.registry import HOOKS


def _colorize_depth(depth: np.ndarray, max_depth: float) -> np.ndarray:
    """(H, W) metres -> (H, W, 3) uint8; near = bright, 0 (no target) = black."""
    d = np.clip(depth / max(max_depth, 1e-6), 0.0, 1.0)
    valid = depth > 0
    r = (255 * (1 - d)).astype(np.uint8)
    g = (255 * (1 - np.abs(2 * d - 1))).astype(np.uint8)
    b = (255 * d).astype(np.uint8)
    img = np.stack([r, g, b], -1)
    img[~valid] = 0
    return img


def _rgb(chw: torch.Tensor) -> np.ndarray:
    return (chw.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def _pad_row(images: List[np.ndarray], height: int) -> np.ndarray:
    out = []
    for im in images:
        if im.shape[0] != height:  # nearest-resize to the row height
            rows = (np.arange(height) * im.shape[0] / height).astype(int)
            cols = (np.arange(int(round(im.shape[1] * height / im.shape[0]))) * im.shape[0] / height).astype(
                int
            )
            im = im[rows][:, cols]
        out += [im, np.full((height, 2, 3), 255, np.uint8)]
    return np.concatenate(out[:-1], axis=1)


def compose_panel(maps: Dict[str, torch.Tensor]) -> np.ndarray:
    """One (H, W, 3) uint8 image of the renderings of a model's ``render_maps``.

    For every view ``<name>`` (keys ``<name>_depth`` ``(V, h, w)``, optionally ``<name>_input``,
    ``<name>_rgb``, ``<name>_rgb_target`` ``(V, 3, h, w)``), one row per rendered image ``v``:
    masked input, rendered colour, colour target, rendered depth, depth target.
    """
    rows = []
    for name in [k[: -len('_depth')] for k in maps if k.endswith('_depth')]:
        max_d = float(max(maps[f'{name}_depth_target'].max(), 1.0))
        for v in range(maps[f'{name}_depth'].shape[0]):
            row = [
                _rgb(maps[f'{name}_{key}'][v])
                for key in ('input', 'rgb', 'rgb_target')
                if f'{name}_{key}' in maps
            ]
            row += [
                _colorize_depth(maps[f'{name}_{key}'][v].numpy(), max_d) for key in ('depth', 'depth_target')
            ]
            rows.append(_pad_row(row, max(row[0].shape[0], 64)))
    if not rows:
        raise ValueError(f'render_maps returned no <view>_depth map (keys: {sorted(maps)})')
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)


@HOOKS.register_module()
class RenderVisHook(Hook):
    """Save rendered depth/colour beside their targets every ``interval`` iterations.

    Works with any model that has ``render_maps(inputs, data_samples, stride, cams)`` (e.g.
    every :class:`~mmssl.models.algorithms.NeuralRenderingMixin` method).

    Args:
        interval: iterations between renderings (also rendered after the first one).
        stride: perspective maps are rendered every ``stride`` target pixels.
        cams: camera indices to show (default: all).
        out_dir: folder under the work dir.
    """

    priority = 'LOW'

    def __init__(
        self,
        interval: int = 1000,
        stride: int = 4,
        cams: List[int] | None = None,
        out_dir: str = 'render_vis',
    ) -> None:
        self.interval = int(interval)
        self.stride = int(stride)
        self.cams = cams
        self.out_dir = out_dir
        self.saved: List[str] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        it = runner.iter + 1
        if data_batch is None or not (it == 1 or it % self.interval == 0):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                data = model.data_preprocessor(data_batch, training=False)
                maps = model.render_maps(data['inputs'], data['data_samples'], self.stride, self.cams)
        finally:
            model.train(was_training)
        panel = compose_panel(maps)
        folder = os.path.join(runner.work_dir, self.out_dir)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f'iter_{it}.png')
        from PIL import Image

        Image.fromarray(panel).save(path)
        self.saved.append(path)
        runner.visualizer.add_image('render', panel, step=it)
