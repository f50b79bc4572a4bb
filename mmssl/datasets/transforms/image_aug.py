"""Per-camera image augmentation that keeps the projection exact (BEVFusion's ImageAug3D recipe)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmssl.registry import TRANSFORMS

from .calibration import apply_img_aug


def _affine3(a: np.ndarray) -> np.ndarray:
    out = np.eye(3)
    out[:2] = a
    return out


@TRANSFORMS.register_module()
class ImageAug3D(BaseTransform):
    """Resize, crop, flip and rotate every camera image; update ``cam2img``/``lidar2img``.

    Follows BEVFusion's ``ImageAug3D`` (Liu et al., 2023): per image, draw a resize factor
    ``r ~ U(resize_lim)`` (the mean in test mode), resize to ``(int(W r), int(H r))``, crop a
    ``final_dim`` window whose top is ``int((1 - b) * H') - fH`` with ``b ~ U(bot_pct_lim)`` and
    whose left is ``U(0, W' - fW)`` (centred in test mode), optionally flip horizontally and rotate
    by ``U(rot_lim)`` degrees about the crop centre. Zero padding fills pixels without source.

    Exactness (a deviation from BEVFusion, which scales the matrix by ``r`` while the image is
    resized to the integer size ``int(W r)``, an error of up to ~0.5 px at the far edge): the
    recorded transform uses the per-axis scales ``W'/W`` and ``H'/H`` actually applied, and the
    pixels are resampled with exactly that map (``cv2.resize`` then one ``cv2.warpAffine`` with
    the pixel-centre convention), so a LiDAR point projected with the new ``lidar2img`` lands on
    the pixel that shows it.

    Updates ``img`` (list of ``(fH, fW, 3)``), ``img_shape``/``pad_shape`` ``(fH, fW)``,
    ``cam2img``, ``lidar2img`` and ``img_aug_matrix`` ``(N_cam, 4, 4)`` (composed with any earlier
    image augmentation), and records ``img_aug_params`` (per camera: resize, crop, flip, rotate).

    Args:
        final_dim: Output ``(H, W)``.
        resize_lim: Range of the resize factor.
        bot_pct_lim: Range of the fraction of the resized image cut away at the bottom.
        rot_lim: Range of the rotation in degrees (``(0, 0)`` = no rotation).
        rand_flip: Flip horizontally with probability 0.5 (training only).
        is_train: Random parameters; ``False`` uses the mean resize, centred crop, no flip/rotation.
    """

    def __init__(
        self,
        final_dim: Sequence[int],
        resize_lim: Sequence[float],
        bot_pct_lim: Sequence[float] = (0.0, 0.0),
        rot_lim: Sequence[float] = (0.0, 0.0),
        rand_flip: bool = False,
        is_train: bool = True,
    ) -> None:
        self.final_dim = (int(final_dim[0]), int(final_dim[1]))
        self.resize_lim = tuple(resize_lim)
        self.bot_pct_lim = tuple(bot_pct_lim)
        self.rot_lim = tuple(rot_lim)
        self.rand_flip = rand_flip
        self.is_train = is_train

    def sample_params(self, h: int, w: int) -> dict:
        """Draw ``resize``, ``resize_dims`` (W', H'), ``crop`` (x0, y0, x1, y1), ``flip``,
        ``rotate`` (degrees) for an ``h x w`` image."""
        fh, fw = self.final_dim
        if self.is_train:
            resize = float(np.random.uniform(*self.resize_lim))
            bot = float(np.random.uniform(*self.bot_pct_lim))
        else:
            resize = float(np.mean(self.resize_lim))
            bot = float(np.mean(self.bot_pct_lim))
        new_w, new_h = int(w * resize), int(h * resize)
        crop_h = int((1 - bot) * new_h) - fh
        if self.is_train:
            crop_w = int(np.random.uniform(0, max(0, new_w - fw)))
            flip = bool(self.rand_flip and np.random.choice([0, 1]))
            rotate = float(np.random.uniform(*self.rot_lim))
        else:
            crop_w = int(max(0, new_w - fw) / 2)
            flip, rotate = False, 0.0
        return dict(
            resize=resize,
            resize_dims=(new_w, new_h),
            crop=(crop_w, crop_h, crop_w + fw, crop_h + fh),
            flip=flip,
            rotate=rotate,
        )

    @staticmethod
    def post_resize_affine(params: dict) -> np.ndarray:
        """``(3, 3)`` pixel map (continuous coordinates) of crop, flip and rotation."""
        x0, y0, x1, y1 = params['crop']
        mat = _affine3(np.array([[1.0, 0, -x0], [0, 1.0, -y0]]))
        if params['flip']:
            mat = _affine3(np.array([[-1.0, 0, x1 - x0], [0, 1.0, 0]])) @ mat
        if params['rotate']:
            theta = math.radians(params['rotate'])
            c, s = math.cos(theta), math.sin(theta)
            rot = np.array([[c, s], [-s, c]])
            centre = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
            mat = _affine3(np.concatenate([rot, (centre - rot @ centre)[:, None]], 1)) @ mat
        return mat

    def transform(self, results: dict) -> dict:
        fh, fw = self.final_dim
        new_imgs, params_all = [], []
        for i, img in enumerate(results['img']):
            h, w = img.shape[:2]
            params = self.sample_params(h, w)
            new_w, new_h = params['resize_dims']
            scale = np.diag([new_w / w, new_h / h, 1.0])
            post = self.post_resize_affine(params)
            interp = cv2.INTER_AREA if new_w < w else cv2.INTER_LINEAR
            resized = cv2.resize(img, (new_w, new_h), interpolation=interp)
            # continuous -> pixel-index convention: p_idx' = A p_idx + (A 0.5 + b - 0.5)
            a, b = post[:2, :2], post[:2, 2]
            m_cv = np.concatenate([a, (a @ np.array([0.5, 0.5]) + b - 0.5)[:, None]], 1)
            out = cv2.warpAffine(
                resized, m_cv, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )
            if out.ndim == 2 and img.ndim == 3:
                out = out[..., None]
            full = post @ scale
            img_aug = np.eye(4)
            img_aug[:2, :2] = full[:2, :2]
            img_aug[:2, 3] = full[:2, 2]
            apply_img_aug(results, i, img_aug)
            new_imgs.append(out)
            params_all.append(params)
        results['img'] = new_imgs
        results['img_shape'] = (fh, fw)
        results['pad_shape'] = (fh, fw)
        results['img_aug_params'] = params_all
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(final_dim={self.final_dim}, '
            f'resize_lim={self.resize_lim}, bot_pct_lim={self.bot_pct_lim}, '
            f'rot_lim={self.rot_lim}, rand_flip={self.rand_flip}, is_train={self.is_train})'
        )
