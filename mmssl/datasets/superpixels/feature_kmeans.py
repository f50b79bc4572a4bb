"""k-means over a frozen DINOv2 teacher's patch features: the VFM superpixels where no SAM weights exist.

LargeAD's superpixels come from vision foundation models (SAM, SEEM, ...). Where none of their
weights is available, grouping the patches of a frozen self-supervised ViT by k-means is the
stand-in: patches of one object or surface have similar DINOv2 features, so the clusters follow
semantic regions rather than colour edges (SLIC). The teacher is
:class:`~mmssl.models.target_generators.DINOv2Teacher`, built from a local weights file exactly
as the distillation methods build it (nothing is downloaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Dict

import cv2
import numpy as np

from .ops import resize_nearest
from .sources import SuperpixelSource, register_source


def parse_arch_kwargs(value: Dict[str, Any] | Sequence[str] | str | None) -> Dict[str, Any]:
    """Extra timm arguments from a dict, or from the CLI's ``key:value`` items.

    ``tools/make_superpixels.py --source-options teacher_arch_kwargs=embed_dim:32,depth:2`` gives
    ``['embed_dim:32', 'depth:2']`` (``DictAction`` splits at commas and cannot nest dicts);
    numbers are converted.

    Returns:
        The arguments, keys sorted (so a config rebuilt from ``meta.json`` compares equal).

    Raises:
        ValueError: an item is not ``key:value``.
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        items = dict(value)
    else:
        items = {}
        for item in [value] if isinstance(value, str) else list(value):
            key, sep, raw = str(item).partition(':')
            if not sep or not key:
                raise ValueError(f'teacher_arch_kwargs items must be key:value, got {item!r}')
            for cast in (int, float):
                try:
                    raw = cast(raw)
                    break
                except ValueError:
                    continue
            items[key.strip()] = raw
    return {k: items[k] for k in sorted(items)}


@register_source
class FeatureKMeansSuperpixels(SuperpixelSource):
    """k-means clusters of a frozen DINOv2 ViT's L2-normalised patch features, as superpixels.

    Steps: the RGB image is resized to ``input_size`` and normalised with ImageNet's mean/std
    (the teacher's own preprocessing); the ViT's patch tokens ``(Hp, Wp, C)`` of its last block
    are L2-normalised, optionally extended by the patch's normalised position; scikit-learn's
    ``KMeans(n_clusters, n_init, random_state=seed)`` clusters the ``Hp * Wp`` patches; the
    ``(Hp, Wp)`` cluster ids are resized to ``(H, W)`` nearest-neighbour (pixel centres), then
    relabelled to ``0..K-1``. Deterministic for a seed. A cluster is a set of patches with similar
    features and need not be connected (a road cluster can cover both sides of a car), like
    Seal's class-level SEEM segments.

    Args:
        teacher_checkpoint: local weights file of the DINOv2 teacher (official or timm layout;
            see :class:`~mmssl.models.target_generators.DINOv2Teacher`). Required; loaded on
            the first image, never downloaded.
        teacher_arch: timm DINOv2 architecture.
        teacher_arch_kwargs: extra timm arguments (e.g. ``embed_dim``/``depth``/``num_heads`` of
            a tiny test model): a dict, or ``key:value`` items from the CLI
            (:func:`parse_arch_kwargs`).
        input_size: ``(H, W)`` the teacher runs at, multiples of 14. Default ``(224, 392)``: a
            16 x 28 patch grid (448 patches) of about nuScenes' 16:9 aspect ratio.
        after_norm: cluster the tokens after the ViT's final norm (default ``True``, the
            normalised patch tokens DINOv2's own feature visualisations use).
        n_clusters: clusters per image (at most that many ids; fewer when the image has fewer
            distinct patch features). Default 32: about 14 patches per cluster on the default
            grid, between nuScenes' 16 LiDAR-segmentation classes (fewer segments would merge
            classes) and SLIC's ~100-150 superpixels (many more would split surfaces along
            patch-level noise, since one patch is 14 px of the teacher input).
        seed: ``random_state`` of the k-means initialisation.
        n_init: k-means restarts (the best inertia is kept); fixed so results do not depend on
            scikit-learn's default.
        spatial_weight: weight of the patch position (x and y in [0, 1]) appended to the unit-norm
            features; ``0`` (default) clusters appearance only, larger values make clusters
            spatially compact (``0.5`` weighs a full image width like half the largest feature
            distance ``2``).
        device: torch device of the teacher.
        downscale: shrink the image ``downscale`` times (``cv2.INTER_AREA``) before the teacher's
            own resize; the map is always returned at full resolution. ``1`` (default) leaves
            the resizing to the teacher (antialiased bilinear).
    """

    name = 'kmeans'

    def __init__(
        self,
        teacher_checkpoint: str,
        teacher_arch: str = 'vit_small_patch14_dinov2',
        teacher_arch_kwargs: Dict[str, Any] | Sequence[str] | str | None = None,
        input_size: Sequence[int] = (224, 392),
        after_norm: bool = True,
        n_clusters: int = 32,
        seed: int = 0,
        n_init: int = 3,
        spatial_weight: float = 0.0,
        device: str = 'cpu',
        downscale: int = 1,
    ) -> None:
        size = [int(s) for s in input_size]
        if len(size) != 2 or size[0] % 14 or size[1] % 14 or min(size) <= 0:
            raise ValueError(f'input_size must be (H, W), positive multiples of 14, got {input_size}')
        if int(n_clusters) < 1 or int(n_init) < 1:
            raise ValueError(f'n_clusters and n_init must be >= 1, got {n_clusters}, {n_init}')
        if float(spatial_weight) < 0:
            raise ValueError(f'spatial_weight must be >= 0, got {spatial_weight}')
        if int(downscale) < 1:
            raise ValueError(f'downscale must be an integer >= 1, got {downscale}')
        super().__init__(
            teacher_checkpoint=str(teacher_checkpoint),
            teacher_arch=str(teacher_arch),
            teacher_arch_kwargs=parse_arch_kwargs(teacher_arch_kwargs),
            input_size=size,
            after_norm=bool(after_norm),
            n_clusters=int(n_clusters),
            seed=int(seed),
            n_init=int(n_init),
            spatial_weight=float(spatial_weight),
            device=str(device),
            downscale=int(downscale),
        )
        self._teacher = None

    @classmethod
    def default_settings(cls) -> Dict[str, Any]:
        """The constructor defaults, normalised as the constructor stores them."""
        defaults = super().default_settings()
        defaults.update(teacher_arch_kwargs={}, input_size=list(defaults['input_size']))
        return defaults

    @property
    def teacher(self):
        """The frozen :class:`DINOv2Teacher` (built from ``teacher_checkpoint`` on first use, then cached)."""
        if self._teacher is None:
            from mmssl.models.target_generators.dinov2 import DINOv2Teacher

            s = self.settings
            teacher = DINOv2Teacher(
                checkpoint=s['teacher_checkpoint'],
                arch=s['teacher_arch'],
                input_size=s['input_size'],
                arch_kwargs=s['teacher_arch_kwargs'] or None,
                after_norm=s['after_norm'],
                input_range='255',
                channel_order='rgb',
            )
            self._teacher = teacher.to(s['device'])
        return self._teacher

    def patch_features(self, rgb: np.ndarray) -> np.ndarray:
        """L2-normalised teacher patch features of one image.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB.

        Returns:
            ``(Hp, Wp, C)`` float32, ``(Hp, Wp) = input_size / 14``, unit norm along ``C``.
        """
        import torch

        d = self.settings['downscale']
        if d > 1:
            h, w = rgb.shape[:2]
            rgb = cv2.resize(rgb, (max(1, round(w / d)), max(1, round(h / d))), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None, None]
        feats = self.teacher.forward_patches(x.to(self.settings['device']))[0, 0]  # (C, Hp, Wp)
        feats = torch.nn.functional.normalize(feats.float(), dim=0)
        return feats.permute(1, 2, 0).cpu().numpy().astype(np.float32)

    def cluster(self, feats: np.ndarray) -> np.ndarray:
        """k-means ids of a patch grid.

        Args:
            feats: ``(Hp, Wp, C)`` features.

        Returns:
            ``(Hp, Wp)`` int32 cluster ids in ``[0, n_clusters)``.
        """
        from sklearn.cluster import KMeans

        hp, wp, c = feats.shape
        x = feats.reshape(hp * wp, c).astype(np.float64)
        weight = self.settings['spatial_weight']
        if weight > 0:
            ys, xs = np.meshgrid((np.arange(hp) + 0.5) / hp, (np.arange(wp) + 0.5) / wp, indexing='ij')
            x = np.concatenate([x, weight * np.stack([xs.ravel(), ys.ravel()], 1)], 1)
        k = min(self.settings['n_clusters'], len(np.unique(x.round(6), axis=0)))
        if k <= 1:
            return np.zeros((hp, wp), np.int32)
        km = KMeans(n_clusters=k, n_init=self.settings['n_init'], random_state=self.settings['seed'])
        return km.fit_predict(x).astype(np.int32).reshape(hp, wp)

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        return resize_nearest(self.cluster(self.patch_features(rgb)), rgb.shape[:2])

    def __getstate__(self) -> Dict[str, Any]:
        return dict(self.__dict__, _teacher=None)  # the teacher is rebuilt where the copy runs
