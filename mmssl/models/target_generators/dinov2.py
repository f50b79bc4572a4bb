"""DINOv2 as a frozen teacher, built by timm and loaded from a local weights file."""

from __future__ import annotations

import math
from typing import Any, Dict, Sequence, Tuple

from torch import Tensor, nn

from mmssl.models.utils.pretrained_init import InitReport
from mmssl.registry import MODELS

from .image_teacher import (
    FrozenImageTeacher,
    load_teacher_state,
    no_download,
    read_weights_file,
    strip_prefixes,
)

DINOV2_ARCHS = (
    'vit_small_patch14_dinov2',
    'vit_base_patch14_dinov2',
    'vit_large_patch14_dinov2',
    'vit_giant_patch14_dinov2',
    'vit_small_patch14_reg4_dinov2',
    'vit_base_patch14_reg4_dinov2',
    'vit_large_patch14_reg4_dinov2',
    'vit_giant_patch14_reg4_dinov2',
)

DINOV2_EXPECTED = (
    'a state dict of a DINOv2 ViT in the official facebookresearch layout (e.g. dinov2_vits14_pretrain.pth: '
    "'blocks.N.*', 'mask_token', 'pos_embed' of the 518 px 37x37 grid, 'blocks.N.ls1.gamma', ViT-g "
    "'mlp.w12'/'mlp.w3') or in timm's layout (the state_dict() of timm's vit_*_patch14_dinov2, any square "
    "or the teacher's grid), optionally under 'model', 'state_dict' or 'teacher' and a 'module.' or "
    "'backbone.' prefix"
)


@MODELS.register_module()
class DINOv2Teacher(FrozenImageTeacher):
    """A frozen DINOv2 ViT (timm architecture, weights from a local file).

    Key layouts (detected from the file): **official** (facebookresearch/dinov2 release files
    ``dinov2_vit{s,b,l,g}14[_reg4]_pretrain.pth``; recognised by ``mask_token``) and **timm**
    (``timm.create_model('vit_*_patch14_dinov2').state_dict()``; recognised by
    ``patch_embed.proj.weight`` and ``blocks.0.norm1.weight`` without ``mask_token``). Both go
    through timm's own ``checkpoint_filter_fn`` (``mask_token`` dropped, ViT-g's ``w12``/``w3`` ->
    ``fc1``/``fc2``, registers moved, ``pos_embed`` resampled bicubically with antialiasing from
    the file's grid to ``input_size / 14``). A ``pos_embed`` of another grid than the teacher's
    must be square (the official files' 37x37): a non-square source grid cannot be recovered
    from the token count.

    Differences from the official hub model: the official model interpolates ``pos_embed`` at
    every forward (bicubic, no antialiasing, from 37x37); here it is resampled once at load time
    with timm's antialiased bicubic filter, so features differ slightly from the hub model's.

    Args:
        checkpoint: local weights file (see above). Required.
        arch: timm model name, one of :data:`DINOV2_ARCHS`.
        input_size: ``(H, W)``, multiples of 14 (ScaLR: 224x448, OccFeat: 224x400 -> 224x406 or
            crop; the model runs at exactly this size, other images are resized to it).
        arch_kwargs: extra timm arguments (e.g. ``embed_dim``/``depth``/``num_heads`` of a tiny
            test model); ``pretrained`` is always ``False``.
        **kwargs: :class:`FrozenImageTeacher` options (``layer``, ``after_norm``, ``out_stride``,
            ``dtype``, ``input_range``, ...). Mean/std default to ImageNet's.
    """

    def __init__(
        self,
        checkpoint: str,
        arch: str = 'vit_small_patch14_dinov2',
        input_size: Sequence[int] = (224, 448),
        arch_kwargs: Dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(input_size=input_size, **kwargs)
        self.arch, self.checkpoint = arch, str(checkpoint)
        self.patch_size = 14
        self._check_input_size(self.patch_size)
        self.vit, self.load_report, self.layout = build_dinov2(arch, self.input_size, checkpoint, arch_kwargs)
        if not -len(self.vit.blocks) <= self.layer < len(self.vit.blocks):
            raise ValueError(f'layer {self.layer} out of range for {len(self.vit.blocks)} blocks')
        self._freeze()

    @property
    def out_channels(self) -> int:
        return self.vit.embed_dim

    def patch_features(self, x: Tensor) -> Tensor:
        """Normalised ``(M, 3, H, W)`` -> ``(M, C, H/14, W/14)`` (timm's ``forward_intermediates``)."""
        index = self.layer % len(self.vit.blocks)
        return self.vit.forward_intermediates(
            x,
            indices=[index],
            norm=self.after_norm,
            stop_early=True,
            output_fmt='NCHW',
            intermediates_only=True,
        )[0]


def build_dinov2(
    arch: str,
    input_size: Sequence[int],
    checkpoint: str | None,
    arch_kwargs: Dict[str, Any] | None = None,
) -> Tuple[nn.Module, InitReport | None, str | None]:
    """A timm DINOv2 ViT at ``input_size``, with the weights of a local file (never downloaded).

    Shared by :class:`DINOv2Teacher` and the trainable
    :class:`~mmssl.models.backbones.DINOv2ImageBackbone`. See :class:`DINOv2Teacher` for the
    accepted layouts and how ``pos_embed`` is resampled.

    Args:
        arch: one of :data:`DINOV2_ARCHS`.
        input_size: ``(H, W)``, multiples of 14.
        checkpoint: local weights file; None keeps timm's random init (report and layout None).
        arch_kwargs: extra timm arguments; ``pretrained`` is refused.

    Returns:
        ``(vit, load report, layout)``.
    """
    import timm
    from timm.models.vision_transformer import checkpoint_filter_fn

    if arch not in DINOV2_ARCHS:
        raise ValueError(f'arch must be one of {DINOV2_ARCHS}, got {arch!r}')
    if 'pretrained' in (arch_kwargs or {}):
        raise ValueError(
            'DINOv2 models are never downloaded: drop pretrained from arch_kwargs, set checkpoint='
        )
    with no_download():
        vit = timm.create_model(
            arch,
            pretrained=False,
            img_size=tuple(input_size),
            num_classes=0,
            dynamic_img_size=False,
            **(arch_kwargs or {}),
        )
    if checkpoint is None:
        return vit, None, None
    state = strip_prefixes(read_weights_file(checkpoint, DINOV2_EXPECTED), ('module.', 'backbone.'))
    if 'mask_token' in state:
        layout = 'official DINOv2'
    elif 'patch_embed.proj.weight' in state and 'blocks.0.norm1.weight' in state:
        layout = 'timm'
    else:
        raise ValueError(
            f'teacher weights file {checkpoint}: keys match neither accepted layout '
            f'(first keys: {list(state)[:5]}); expected {DINOV2_EXPECTED}'
        )
    _check_pos_embed(vit, state, str(checkpoint))
    # timm's filter drops mask_token, maps ViT-g's SwiGLU and registers, resamples pos_embed
    state = checkpoint_filter_fn(dict(state), vit)
    report = load_teacher_state(
        vit, state, str(checkpoint), layout, ignored=int(layout.startswith('official'))
    )
    return vit, report, layout


def _check_pos_embed(vit: nn.Module, state: Dict[str, Tensor], checkpoint: str) -> None:
    """A file's ``pos_embed`` must be on the model's grid or on a square one (resampled)."""
    pos = state.get('pos_embed')
    if pos is None:
        return
    # the official files always hold the CLS position (also with registers); timm's reg4 models none
    prefix = 1 if 'mask_token' in state else int(not getattr(vit, 'no_embed_class', False))
    tokens = pos.shape[1] - prefix
    grid = vit.patch_embed.grid_size
    if tokens != grid[0] * grid[1] and math.isqrt(tokens) ** 2 != tokens:
        raise ValueError(
            f'teacher weights file {checkpoint}: pos_embed has {tokens} patch positions, neither the '
            f'teacher grid {grid} nor a square grid; save it at a square resolution or at input_size'
        )
