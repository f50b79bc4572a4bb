"""SAM superpixels (Seal / LargeAD): ``SamAutomaticMaskGenerator`` masks painted into one id map.

Seal (Liu et al., NeurIPS 2023) and its journal extension LargeAD use the masks of SAM ViT-H with
``SamAutomaticMaskGenerator``'s default settings as superpixels. Seal's script paints the masks
from the largest to the smallest, leaves uncovered pixels at 0 (the id of the largest mask too)
and stores the map as uint8 (ids >= 256 wrap around). Here :func:`paint_masks` gives every mask
its own id ``1..M`` and keeps 0 for uncovered pixels only, and the cache stores uint16.

``segment_anything`` (``pip install segment-anything==1.0``; the ``largead`` extra) is imported
only when a model is built: importing this module never needs it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Dict

import cv2
import numpy as np

from .ops import resize_nearest
from .sources import SuperpixelSource, register_source

#: Whether ``segment_anything`` can be imported (checked without importing it).
SAM_AVAILABLE = importlib.util.find_spec('segment_anything') is not None

#: ``model_type`` values: the three released SAM encoders (``segment_anything.sam_model_registry``)
#: and ``'tiny_test'``, a small random-weights architecture for tests only (see :func:`build_tiny_test_sam`).
SAM_MODEL_TYPES = ('vit_h', 'vit_l', 'vit_b', 'tiny_test')

#: ``SamAutomaticMaskGenerator`` options and their package defaults (segment-anything 1.0).
GENERATOR_DEFAULTS: Dict[str, Any] = dict(
    points_per_side=32,
    points_per_batch=64,
    pred_iou_thresh=0.88,
    stability_score_thresh=0.95,
    stability_score_offset=1.0,
    box_nms_thresh=0.7,
    crop_n_layers=0,
    crop_nms_thresh=0.7,
    crop_overlap_ratio=512 / 1500,
    crop_n_points_downscale_factor=1,
    min_mask_region_area=0,
)


def _require_sam() -> None:
    if not SAM_AVAILABLE:
        raise ImportError(
            'SAMSuperpixels needs the segment-anything package: pip install segment-anything==1.0 '
            '(tools/setup/install_stack.sh installs it)'
        )


def build_tiny_test_sam():
    """A small SAM for tests (random weights; not a released model): 128 px input, 2-block 32-wide ViT.

    Same modules as ``segment_anything.build_sam`` with every width cut down, so the predictor and
    the automatic mask generator run unchanged; one 64 x 96 image takes well under a second on a CPU.

    Returns:
        ``segment_anything.modeling.Sam`` in eval mode, randomly initialised (seed it first).
    """
    _require_sam()
    import torch
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    img_size, patch, dim = 128, 16, 32
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=img_size,
            patch_size=patch,
            embed_dim=dim,
            depth=2,
            num_heads=2,
            mlp_ratio=2,
            out_chans=dim,
            qkv_bias=True,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True,
            window_size=4,
            global_attn_indexes=(1,),
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(img_size // patch, img_size // patch),
            input_image_size=(img_size, img_size),
            mask_in_chans=4,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=dim, mlp_dim=64, num_heads=2),
            transformer_dim=dim,
            iou_head_depth=3,
            iou_head_hidden_dim=dim,
        ),
    )
    return sam.eval()


def _architecture(model_type: str) -> Callable[[], Any]:
    """The builder of a randomly initialised ``model_type`` (weights are loaded afterwards)."""
    _require_sam()
    from segment_anything import sam_model_registry

    builders: Dict[str, Callable[[], Any]] = {
        'vit_h': partial(sam_model_registry['vit_h'], checkpoint=None),
        'vit_l': partial(sam_model_registry['vit_l'], checkpoint=None),
        'vit_b': partial(sam_model_registry['vit_b'], checkpoint=None),
        'tiny_test': build_tiny_test_sam,  # tests only: random weights, no released file
    }
    return builders[model_type]


def load_sam(checkpoint: str | Path, model_type: str = 'vit_h', device: str = 'cpu'):
    """A SAM model with the weights of a local file (nothing is downloaded).

    Args:
        checkpoint: ``torch.save`` of the model's state dict (e.g. ``sam_vit_h_4b8939.pth``).
        model_type: one of :data:`SAM_MODEL_TYPES`; must match the file.
        device: torch device the model runs on.

    Returns:
        ``segment_anything.modeling.Sam`` in eval mode on ``device``.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist.
        ImportError: segment-anything is not installed.
        ValueError: unknown ``model_type``, or the file does not fit it.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(
            f'SAM checkpoint {path} does not exist; SAMSuperpixels never downloads weights: pass the '
            f'local file of model_type={model_type!r} (e.g. sam_vit_h_4b8939.pth for vit_h)'
        )
    if model_type not in SAM_MODEL_TYPES:
        raise ValueError(f'model_type must be one of {SAM_MODEL_TYPES}, got {model_type!r}')
    import torch

    model = _architecture(model_type)()
    state = torch.load(path, map_location='cpu', weights_only=True)
    for wrapper in ('model', 'state_dict'):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(
            f'SAM checkpoint {path} does not fit model_type={model_type!r} ({first}); '
            'check model_type against the file'
        ) from err
    return model.to(device).eval()


def paint_masks(masks: Sequence[np.ndarray], shape: Sequence[int]) -> np.ndarray:
    """Paint binary masks into one id map: smaller masks on top, 0 only where no mask covers a pixel.

    The masks are painted in the order of decreasing area (ties: input order), so a pixel takes
    the id of the smallest mask covering it (SAM's part masks stay visible on top of the object
    masks that contain them). Mask ``i`` of the input gets id ``i + 1`` (int32: no wrap-around
    however many masks); a mask that is entirely covered by smaller ones, or empty, leaves no pixel.

    Args:
        masks: ``M`` boolean ``(H, W)`` masks.
        shape: ``(H, W)``.

    Returns:
        ``(H, W)`` int32 ids in ``[0, M]``: 0 = covered by no mask, ``i + 1`` = mask ``i``.

    Raises:
        ValueError: a mask is not of shape ``(H, W)``.
    """
    h, w = int(shape[0]), int(shape[1])
    ids = np.zeros((h, w), np.int32)
    masks = [np.asarray(m, bool) for m in masks]
    for i, m in enumerate(masks):
        if m.shape != (h, w):
            raise ValueError(f'mask {i} has shape {m.shape}, expected {(h, w)}')
    areas = np.array([int(m.sum()) for m in masks], np.int64)
    for i in np.argsort(-areas, kind='stable'):
        ids[masks[i]] = i + 1
    return ids


@register_source
class SAMSuperpixels(SuperpixelSource):
    """SAM automatic masks as superpixels (Seal / LargeAD), painted without Seal's id collisions.

    ``SamAutomaticMaskGenerator`` runs with the given options (package defaults, Seal's setting;
    the defaults are tuned for ViT-H); its binary masks are painted by :func:`paint_masks`
    (smaller masks over larger ones, one id per mask, uncovered pixels one extra segment), then
    relabelled to ``0..K-1``. The model is built once per instance, on the first image: building
    the source (e.g. to read a cache) needs neither the package nor the weights.

    Args:
        checkpoint: local SAM weights file (required; never downloaded). Checked when the model
            is built: :class:`FileNotFoundError` names it.
        model_type: ``'vit_h'`` (Seal), ``'vit_l'``, ``'vit_b'``, or ``'tiny_test'`` (the random
            test architecture of :func:`build_tiny_test_sam`, for tests only).
        points_per_side, points_per_batch, pred_iou_thresh, stability_score_thresh,
            stability_score_offset, box_nms_thresh, crop_n_layers, crop_nms_thresh,
            crop_overlap_ratio, crop_n_points_downscale_factor, min_mask_region_area:
            ``SamAutomaticMaskGenerator`` options, defaults as segment-anything 1.0
            (:data:`GENERATOR_DEFAULTS`).
        device: torch device of the model (``'cuda'`` for real runs; ViT-H on a CPU takes
            minutes per image). A setting: GPU and CPU numerics can differ slightly.
        downscale: segment an image ``downscale`` times smaller (``cv2.INTER_AREA``) and resize
            the ids back (nearest), as :class:`SLICSuperpixels`; SAM resizes to 1024 px on the
            long side anyway, so this mostly saves mask memory and post-processing.
    """

    name = 'sam'

    def __init__(
        self,
        checkpoint: str,
        model_type: str = 'vit_h',
        points_per_side: int = 32,
        points_per_batch: int = 64,
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.95,
        stability_score_offset: float = 1.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_overlap_ratio: float = 512 / 1500,
        crop_n_points_downscale_factor: int = 1,
        min_mask_region_area: int = 0,
        device: str = 'cpu',
        downscale: int = 1,
    ) -> None:
        if model_type not in SAM_MODEL_TYPES:
            raise ValueError(f'model_type must be one of {SAM_MODEL_TYPES}, got {model_type!r}')
        if int(downscale) < 1:
            raise ValueError(f'downscale must be an integer >= 1, got {downscale}')
        super().__init__(
            checkpoint=str(checkpoint),
            model_type=str(model_type),
            points_per_side=int(points_per_side),
            points_per_batch=int(points_per_batch),
            pred_iou_thresh=float(pred_iou_thresh),
            stability_score_thresh=float(stability_score_thresh),
            stability_score_offset=float(stability_score_offset),
            box_nms_thresh=float(box_nms_thresh),
            crop_n_layers=int(crop_n_layers),
            crop_nms_thresh=float(crop_nms_thresh),
            crop_overlap_ratio=float(crop_overlap_ratio),
            crop_n_points_downscale_factor=int(crop_n_points_downscale_factor),
            min_mask_region_area=int(min_mask_region_area),
            device=str(device),
            downscale=int(downscale),
        )
        self._generator = None

    @property
    def generator(self):
        """The ``SamAutomaticMaskGenerator`` (model loaded from ``checkpoint`` on first use, then cached)."""
        if self._generator is None:
            _require_sam()
            from segment_anything import SamAutomaticMaskGenerator

            s = self.settings
            model = load_sam(s['checkpoint'], s['model_type'], s['device'])
            options = {k: s[k] for k in GENERATOR_DEFAULTS}
            self._generator = SamAutomaticMaskGenerator(model, output_mode='binary_mask', **options)
        return self._generator

    def generate_masks(self, rgb: np.ndarray) -> list:
        """SAM's mask records of one image (at the downscaled size).

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB.

        Returns:
            ``SamAutomaticMaskGenerator.generate``'s records (``segmentation``: ``(h, w)`` bool,
            ``area``, ``predicted_iou``, ...), ``(h, w)`` the size after ``downscale``.
        """
        return self.generator.generate(np.ascontiguousarray(self._downscaled(rgb)))

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        image = np.ascontiguousarray(self._downscaled(rgb))
        records = self.generator.generate(image)
        ids = paint_masks([r['segmentation'] for r in records], image.shape[:2])
        return resize_nearest(ids, rgb.shape[:2])

    def _downscaled(self, rgb: np.ndarray) -> np.ndarray:
        d = self.settings['downscale']
        if d == 1:
            return rgb
        h, w = rgb.shape[:2]
        return cv2.resize(rgb, (max(1, round(w / d)), max(1, round(h / d))), interpolation=cv2.INTER_AREA)

    def __getstate__(self) -> Dict[str, Any]:
        return dict(self.__dict__, _generator=None)  # the model is rebuilt where the copy runs
