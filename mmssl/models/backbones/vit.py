"""A trainable DINOv2 ViT as the image backbone of the camera detectors.

The survey (../shared/papers/000_*.txt, Sec. 7) recommends adapting a foundation-model ViT to a
small labelled set with LoRA on its attention projections. :class:`DINOv2ImageBackbone` puts the
DINOv2 ViT (timm, weights from the same local files as the frozen
:class:`~mmssl.models.target_generators.DINOv2Teacher`, never downloaded) in a detector's
``img_backbone`` slot; the fine-tuning strategy ``finetune_strategy=dict(type='LoRAFinetune',
target_modules=[r'img_backbone\\.vit\\.blocks\\.\\d+\\.attn\\.(qkv|proj)$'])`` then trains
rank-``r`` adapters on the attention projections only (the heads fully), and
``tools/lora_adapter.py`` saves and merges them (``mmssl/models/finetune/lora.py``).

A ViT has one scale (the 14 px patch grid). To feed the FPN-style necks and the view transform
like a CNN, the images are resized to ``input_size`` (multiples of 14), the patch tokens of the
blocks in ``out_indices`` are reshaped to maps and each is resampled bilinearly to the stride
``out_strides[i]`` of the **original** image (e.g. ``(8, 16, 32)``: what ``mmdet.ResNet`` with
``out_indices=(1, 2, 3)`` gives). Deviation from a ViT-Adapter/ViTDet pyramid: no learnt
up/down-sampling; the neck's convolutions follow.
"""

from __future__ import annotations

from typing import Any, Dict, Sequence, Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class DINOv2ImageBackbone(nn.Module):
    """DINOv2 ViT -> a tuple of feature maps at CNN-like strides.

    Args:
        arch: timm DINOv2 architecture (``vit_small_patch14_dinov2``, ...).
        input_size: ``(H, W)`` the ViT runs at (multiples of 14); images are resized to it.
        checkpoint: local weights file (official DINOv2 or timm layout); None = random init.
        out_indices: blocks whose tokens are returned (``-1`` = the last).
        out_strides: output stride of each returned map w.r.t. the input image.
        after_norm: apply the final LayerNorm to the returned tokens.
        arch_kwargs: extra timm arguments (e.g. a tiny test model's ``embed_dim``/``depth``).

    Shapes:
        ``(M, 3, H_img, W_img)`` -> ``len(out_indices)`` maps ``(M, C, H_img / s, W_img / s)``.
    """

    def __init__(
        self,
        arch: str = 'vit_small_patch14_dinov2',
        input_size: Sequence[int] = (224, 616),
        checkpoint: str | None = None,
        out_indices: Sequence[int] = (-1,),
        out_strides: Sequence[int] = (16,),
        after_norm: bool = True,
        arch_kwargs: Dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        from mmssl.models.target_generators.dinov2 import build_dinov2

        self.input_size = tuple(int(v) for v in input_size)
        if any(v % 14 for v in self.input_size):
            raise ValueError(f'DINOv2ImageBackbone: input_size {self.input_size} must be multiples of 14')
        if len(out_indices) != len(out_strides):
            raise ValueError(
                f'out_indices {tuple(out_indices)} and out_strides {tuple(out_strides)} differ in length'
            )
        self.vit, self.load_report, self.layout = build_dinov2(arch, self.input_size, checkpoint, arch_kwargs)
        depth = len(self.vit.blocks)
        if not all(-depth <= i < depth for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)} out of range for {depth} blocks')
        self.out_indices = [int(i) % depth for i in out_indices]
        self.out_strides = [int(s) for s in out_strides]
        self.after_norm = bool(after_norm)

    @property
    def out_channels(self) -> int:
        return self.vit.embed_dim

    def init_weights(self) -> None:
        """Keep timm's init / the loaded weights (MMEngine's generic init rules would overwrite them)."""

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Feature maps of normalised images ``(M, 3, H, W)`` (see the class docstring)."""
        h, w = x.shape[-2:]
        if (h, w) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode='bilinear', align_corners=False)
        maps = self.vit.forward_intermediates(
            x, indices=self.out_indices, norm=self.after_norm, output_fmt='NCHW', intermediates_only=True
        )
        return tuple(
            F.interpolate(m, size=(h // s, w // s), mode='bilinear', align_corners=False)
            for m, s in zip(maps, self.out_strides)
        )
