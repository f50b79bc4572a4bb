"""CLIP's image tower (open_clip's native ViT) as a frozen teacher, loaded from a local weights file."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Dict, Sequence

from torch import Tensor

from mmssl.registry import MODELS

from .image_teacher import (
    FrozenImageTeacher,
    load_teacher_state,
    no_download,
    read_weights_file,
    strip_prefixes,
)

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

CLIP_EXPECTED = (
    "a CLIP state dict in open_clip's / OpenAI's layout: the full model ('visual.conv1.weight', "
    "'visual.class_embedding', 'visual.positional_embedding', 'visual.transformer.resblocks.N.*', "
    "'visual.ln_post.*', 'visual.proj'; the text tower is ignored), or the image tower alone (the same "
    "keys without 'visual.'), optionally under 'state_dict' and a 'module.' prefix; OpenAI's TorchScript "
    'archives (e.g. ViT-B-16.pt) are read too'
)


@MODELS.register_module()
class CLIPTeacher(FrozenImageTeacher):
    """A frozen CLIP image tower (open_clip ``VisionTransformer``; weights from a local file).

    The architecture is an open_clip model config (``arch``, e.g. ``'ViT-B-16'``; OpenAI's
    weights need the ``-quickgelu`` configs, e.g. ``'ViT-B-16-quickgelu'``), its image size
    replaced by ``input_size``; ``pretrained`` is never passed to open_clip. The learnt
    ``positional_embedding`` is resampled from the file's square grid to ``input_size / patch``
    with open_clip's own ``resize_pos_embed`` (bicubic, antialiased). Only the native ViT tower
    is supported (not ResNet or timm-trunk towers).

    Tokens: ``layer`` indexes ``visual.transformer.resblocks``; ``after_norm=True`` applies
    ``ln_post`` (the projection ``proj`` is never applied: the features have the tower's width).

    Args:
        checkpoint: local weights file (see :data:`CLIP_EXPECTED`). Required.
        arch: open_clip model config name.
        input_size: ``(H, W)``, multiples of the patch size.
        vision_cfg: overrides of the config's ``vision_cfg`` (e.g. a tiny test tower).
        **kwargs: :class:`FrozenImageTeacher` options; mean/std default to OpenAI's.
    """

    def __init__(
        self,
        checkpoint: str,
        arch: str = 'ViT-B-16',
        input_size: Sequence[int] = (224, 448),
        vision_cfg: Dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault('mean', OPENAI_MEAN)
        kwargs.setdefault('std', OPENAI_STD)
        super().__init__(input_size=input_size, **kwargs)
        import open_clip
        from open_clip.model import _build_vision_tower, resize_pos_embed

        model_cfg = open_clip.get_model_config(arch)
        if model_cfg is None:
            raise ValueError(f'unknown open_clip arch {arch!r}; see open_clip.list_models()')
        cfg = dict(model_cfg['vision_cfg'], **(vision_cfg or {}))
        if cfg.get('timm_model_name') or isinstance(cfg.get('layers'), (list, tuple)):
            raise ValueError(f'CLIPTeacher supports open_clip native ViT towers only; {arch!r} is not one')
        cfg['image_size'] = self.input_size
        self.arch, self.checkpoint = arch, str(checkpoint)
        patch = cfg.get('patch_size', 16)
        self.patch_size = patch
        self._check_input_size(patch)
        with no_download():
            self.visual = _build_vision_tower(
                model_cfg['embed_dim'], cfg, quick_gelu=model_cfg.get('quick_gelu', False)
            )
        n_blocks = len(self.visual.transformer.resblocks)
        if not -n_blocks <= self.layer < n_blocks:
            raise ValueError(f'layer {self.layer} out of range for {n_blocks} blocks')
        raw = strip_prefixes(read_weights_file(checkpoint, CLIP_EXPECTED, allow_jit=True), ('module.',))
        if 'visual.conv1.weight' in raw:
            layout = 'open_clip full model'
            state = {k: v for k, v in raw.items() if k.startswith('visual.')}
        elif 'conv1.weight' in raw and 'class_embedding' in raw:
            layout = 'open_clip image tower'
            state = {f'visual.{k}': v for k, v in raw.items()}
        else:
            raise ValueError(
                f'teacher weights file {checkpoint}: keys match neither accepted layout '
                f'(first keys: {list(raw)[:5]}); expected {CLIP_EXPECTED}'
            )
        ignored = len(raw) - len(state)
        pos = state.get('visual.positional_embedding')
        tokens = None if pos is None else pos.shape[0] - 1  # one class position
        grid = self.visual.grid_size
        if tokens is not None and tokens != grid[0] * grid[1] and math.isqrt(tokens) ** 2 != tokens:
            raise ValueError(
                f'teacher weights file {checkpoint}: positional_embedding has {tokens} patch positions, '
                f'neither the teacher grid {grid} nor a square grid'
            )
        resize_pos_embed(state, SimpleNamespace(visual=self.visual))
        state = {k[len('visual.') :]: v for k, v in state.items()}
        self.load_report = load_teacher_state(self.visual, state, self.checkpoint, layout, ignored=ignored)
        self.layout = layout
        self._freeze()

    @property
    def out_channels(self) -> int:
        return self.visual.transformer.width

    def patch_features(self, x: Tensor) -> Tensor:
        """Normalised ``(M, 3, H, W)`` -> ``(M, C, H/p, W/p)`` (open_clip's ``forward_intermediates``)."""
        index = self.layer % len(self.visual.transformer.resblocks)
        out = self.visual.forward_intermediates(
            x,
            indices=[index],
            stop_early=True,
            normalize_intermediates=self.after_norm,
            intermediates_only=True,
            output_fmt='NCHW',
        )
        return out['image_intermediates'][0]
