"""Image patch masking with an optional learnable [MASK] token (NS-MAE Sec. 3.2), and the
SparK-style re-masking of backbone stages (UniPAD Sec. 3.2)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.ops.masking import image_patch_mask
from mmssl.registry import MODELS


@MODELS.register_module()
class ImagePatchMasker(nn.Module):
    """Draw and apply square-patch masks of multi-camera images.

    Exactly ``round(ratio * n_patches)`` patches are masked per image
    (:func:`mmssl.ops.masking.image_patch_mask`). Masked patches are replaced by a ``(3, s, s)``
    pixel pattern in normalised-image space: a learnable token initialised to zeros (the dataset
    mean colour, NS-MAE's official code) or, with ``learnable_token=False``, constant zeros
    (SparK/UniPAD-style zeroing).

    Args:
        patch_size: patch side ``s`` in pixels (NS-MAE: 4 at 128x352, 8 at 256x704).
        ratio: fraction of patches masked per image (NS-MAE: 0.5).
        shared: one mask for every camera of a sample (the official NS-MAE code also shares it
            over the batch) instead of one independent mask per camera image (default).
        learnable_token: learn the fill pattern (``mask_token`` parameter) or fill zeros.
    """

    def __init__(
        self, patch_size: int = 8, ratio: float = 0.5, shared: bool = False, learnable_token: bool = True
    ) -> None:
        super().__init__()
        self.patch_size = int(patch_size)
        self.ratio = float(ratio)
        self.shared = bool(shared)
        token = torch.zeros(1, 3, self.patch_size, self.patch_size)
        if learnable_token:
            self.mask_token = nn.Parameter(token)
        else:
            self.register_buffer('mask_token', token, persistent=False)

    def generate(
        self, num_cams: int, img_hw: Sequence[int], generator: torch.Generator | None = None
    ) -> Tensor:
        """Masks of one sample, ``(N, H / s, W / s)`` bool (True = masked)."""
        return image_patch_mask(num_cams, img_hw, self.patch_size, self.ratio, self.shared, generator)

    def generate_batch(
        self, batch: int, num_cams: int, img_hw: Sequence[int], generator: torch.Generator | None = None
    ) -> Tensor:
        """Masks ``(B, N, H / s, W / s)``; with ``shared`` one mask serves the whole batch."""
        if self.shared:
            one = self.generate(num_cams, img_hw, generator)
            return one.expand(batch, *one.shape).clone()
        return torch.stack([self.generate(num_cams, img_hw, generator) for _ in range(batch)])

    def forward(self, imgs: Tensor, mask: Tensor) -> Tensor:
        """Apply the token: ``x (1 - m) + token m``.

        Args:
            imgs: (B, N, 3, H, W) normalised images.
            mask: (B, N, H / s, W / s) bool, True = masked.

        Returns:
            (B, N, 3, H, W) masked images (differentiable w.r.t. the token).
        """
        b, n, _, h, w = imgs.shape
        s = self.patch_size
        if mask.shape != (b, n, h // s, w // s) or h % s or w % s:
            raise ValueError(
                f'image patch mask {tuple(mask.shape)} does not tile images '
                f'{tuple(imgs.shape)} with {s}x{s} patches'
            )
        m = mask.to(imgs.dtype).repeat_interleave(s, dim=2).repeat_interleave(s, dim=3).unsqueeze(2)
        token = self.mask_token.to(imgs.dtype).repeat(1, 1, h // s, w // s).view(1, 1, 3, h, w)
        return imgs * (1 - m) + token * m


@contextmanager
def keep_masked(backbone: nn.Module, stages: Sequence[str], mask: Tensor) -> Iterator[None]:
    """Zero the masked patches again at the output of each named backbone stage (SparK-style).

    SparK (and UniPAD's ``mask_convnext``) run sparse convolutions so a masked patch stays empty
    through the encoder. On a dense CPU backbone this context manager emulates the part that is
    a mask: forward hooks multiply each listed stage's output ``(B * N, C, h, w)`` by the visible
    mask resized (nearest) to ``(h, w)``. It does not emulate sparse normalisation: BatchNorm
    statistics still see the zeros.

    Args:
        backbone: the image backbone (stages are looked up with ``get_submodule``).
        stages: names of submodules whose 4D tensor output is re-masked (e.g. ``'layer1'`` ..
            ``'layer4'`` of ``mmdet.ResNet``); empty: only the input is masked.
        mask: (B, N, gh, gw) bool, True = masked patch.

    Raises:
        TypeError: a listed stage does not return a 4D tensor of ``B * N`` images.
    """
    visible = (~mask.bool()).flatten(0, 1).unsqueeze(1)

    def hook(module: nn.Module, args, output):
        if not isinstance(output, Tensor) or output.dim() != 4 or output.shape[0] != visible.shape[0]:
            raise TypeError(
                f'keep_masked: stage {type(module).__name__} returns {type(output).__name__} '
                f'{tuple(getattr(output, "shape", ()))}, not a ({visible.shape[0]}, C, h, w) tensor'
            )
        keep = F.interpolate(visible.to(output.dtype), size=output.shape[-2:], mode='nearest')
        return output * keep

    handles = [backbone.get_submodule(name).register_forward_hook(hook) for name in stages]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
