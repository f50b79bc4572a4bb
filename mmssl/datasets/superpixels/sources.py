"""Superpixel sources: ``rgb (H, W, 3) uint8 -> ids (H, W)``, one registered class per method.

Every source is registered in :data:`mmssl.registry.SUPERPIXELS` under its class name and its
short :attr:`SuperpixelSource.name` (``'SLICSuperpixels'`` and ``'slic'``), and is built with
:func:`build_superpixel_source` from a name, a config dict or an instance. A new source (SAM
masks, k-means over DINOv2 patch features, ...) subclasses :class:`SuperpixelSource`, sets
``name``, implements :meth:`~SuperpixelSource.segment` and is decorated with
:func:`register_source`; caching, the tool and the pipeline loader need no change.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Dict

import cv2
import numpy as np

from mmssl.registry import SUPERPIXELS

from .ops import relabel_contiguous, resize_nearest


def register_source(cls: type) -> type:
    """Register a :class:`SuperpixelSource` subclass under its class name and its ``name``."""
    SUPERPIXELS.register_module(name=[cls.__name__, cls.name], module=cls)
    return cls


class SuperpixelSource(ABC):
    """Base class of the superpixel sources.

    Subclasses set :attr:`name` (the cache folder of the default settings) and implement
    :meth:`segment`; :meth:`__call__` checks the input, runs it and relabels the result so
    that every pixel has exactly one id in ``[0, K)`` and every id in that range is used.
    The constructor arguments of a subclass are its settings: they are recorded by
    :meth:`config` and decide :meth:`cache_name`.
    """

    #: Short name: the CLI's ``--source`` and the cache folder of the default settings.
    name: ClassVar[str] = ''

    def __init__(self, **settings: Any) -> None:
        self.settings: Dict[str, Any] = dict(settings)

    @abstractmethod
    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """Raw segmentation of one image.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB.

        Returns:
            ``(H, W)`` non-negative integer ids (need not be contiguous).
        """

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Superpixel ids of one image.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB (full resolution, un-augmented).

        Returns:
            ``(H, W)`` int32 ids, contiguous ``0 .. K-1``.

        Raises:
            ValueError: the input is not ``(H, W, 3)`` uint8, or the source returned a map of
                another shape or with negative ids.
        """
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(
                f'{type(self).__name__} expects an (H, W, 3) uint8 RGB image, got {rgb.dtype} {rgb.shape}'
            )
        segments = np.asarray(self.segment(rgb))
        if segments.shape != rgb.shape[:2]:
            raise ValueError(
                f'{type(self).__name__}.segment returned a map of shape {segments.shape} '
                f'for an image of {rgb.shape[:2]}'
            )
        return relabel_contiguous(segments)

    @classmethod
    def default_settings(cls) -> Dict[str, Any]:
        """The constructor defaults of this source."""
        params = inspect.signature(cls.__init__).parameters
        return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}

    def config(self) -> Dict[str, Any]:
        """``dict(type=<class name>, **settings)``: builds this source again, recorded in ``meta.json``."""
        return dict(type=type(self).__name__, **self.settings)

    def cache_name(self) -> str:
        """The cache folder: ``name`` with the default settings, else ``<name>_<8 hex of the settings>``."""
        if self.settings == self.default_settings():
            return self.name
        digest = hashlib.sha1(json.dumps(self.settings, sort_keys=True).encode()).hexdigest()[:8]
        return f'{self.name}_{digest}'

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.settings.items())
        return f'{type(self).__name__}({args})'


@register_source
class SLICSuperpixels(SuperpixelSource):
    """SLIC superpixels (Achanta et al., 2012), SLidR's setting by default.

    SLidR (Sautier et al., CVPR 2022; valeoai/SLidR ``superpixel_segmenter.py``) computes
    ``skimage.segmentation.slic(img, n_segments=150, compactness=6, sigma=3.0, start_label=0)``
    on each full-resolution RGB camera image; these are the defaults here. The result is
    relabelled to contiguous ids (SLIC's connectivity step can leave gaps), typically
    ~100-150 ids on a 1600 x 900 nuScenes image.

    Args:
        n_segments: approximate number of segments (SLidR: 150).
        compactness: colour vs space trade-off (SLidR: 6).
        sigma: Gaussian pre-smoothing in pixels of the segmented image (SLidR: 3.0).
        downscale: segment an image ``downscale`` times smaller (``cv2.INTER_AREA``) and
            resize the ids back to full resolution (nearest); ``1`` (SLidR) segments at full
            resolution. A speed knob for tests and quick runs: ``sigma`` then acts at the
            reduced resolution, so the maps differ from SLidR's.
    """

    name = 'slic'

    def __init__(
        self, n_segments: int = 150, compactness: float = 6.0, sigma: float = 3.0, downscale: int = 1
    ) -> None:
        if int(downscale) < 1:
            raise ValueError(f'downscale must be an integer >= 1, got {downscale}')
        super().__init__(
            n_segments=int(n_segments),
            compactness=float(compactness),
            sigma=float(sigma),
            downscale=int(downscale),
        )

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        from skimage.segmentation import slic

        h, w = rgb.shape[:2]
        d = self.settings['downscale']
        image = rgb
        if d > 1:
            size = (max(1, round(w / d)), max(1, round(h / d)))
            image = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        segments = slic(
            image,
            n_segments=self.settings['n_segments'],
            compactness=self.settings['compactness'],
            sigma=self.settings['sigma'],
            start_label=0,
        )
        return resize_nearest(segments, (h, w)) if d > 1 else segments


def build_superpixel_source(source: str | Dict[str, Any] | SuperpixelSource) -> SuperpixelSource:
    """A superpixel source from a registered name (``'slic'``), a config dict or an instance.

    Raises:
        KeyError: the name / type is not registered in ``SUPERPIXELS`` (lists the registered ones).
        TypeError: the registered class is not a :class:`SuperpixelSource`.
    """
    if isinstance(source, SuperpixelSource):
        return source
    cfg = dict(type=source) if isinstance(source, str) else dict(source)
    if SUPERPIXELS.get(cfg['type']) is None:
        raise KeyError(
            f'superpixel source {cfg["type"]!r} is not registered; '
            f'registered: {sorted(SUPERPIXELS.module_dict)}'
        )
    built = SUPERPIXELS.build(cfg)
    if not isinstance(built, SuperpixelSource):
        raise TypeError(f'{cfg["type"]!r} built a {type(built).__name__}, not a SuperpixelSource')
    return built
