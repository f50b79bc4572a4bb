"""The shared part of the frozen 2D foundation-model teachers (:class:`DINOv2Teacher`, :class:`CLIPTeacher`).

A teacher maps multi-view images ``(B, N, 3, H, W)`` to patch feature maps ``(B, N, C, h, w)``:

1. the images are resized (bilinear, antialiased) to the teacher's ``input_size`` when they have
   another size, scaled to [0, 1] (``input_range='unit'``: images in [0, 1]; ``'255'``: images in
   [0, 255], e.g. the raw pixels of the loading pipeline) and normalised with the teacher's
   mean/std (ImageNet for DINOv2, OpenAI's for CLIP); ``channel_order='bgr'`` flips BGR inputs
   (mmcv's decoding order) to the RGB the teachers were trained on;
2. the ViT runs under ``no_grad`` in eval mode; the tokens of block ``layer`` (``-1``: the last
   block) are taken before the final norm (``after_norm=False``, as ScaLR's ``x_pre_norm``) or
   after it, prefix tokens (CLS, registers) dropped, and reshaped to the patch grid
   ``(h, w) = input_size / patch``;
3. with ``out_stride`` the grid is upsampled bilinearly to ``input_size / out_stride`` (ScaLR:
   stride 1 with ``align_corners=True``).

``dtype='fp16'`` or ``'bf16'`` runs the ViT under ``torch.autocast`` on CUDA; on the CPU ``'bf16'``
uses CPU autocast and ``'fp16'`` runs in fp32 with a one-time warning (CPU fp16 kernels are slow
and incomplete). The output is always fp32.

Weights come only from the local file ``checkpoint`` (nothing is downloaded): the subclasses map
its keys, and :func:`load_teacher_state` reports loaded / missing / unexpected / shape-mismatched
keys as the fine-tuning hand-off does (:class:`~mmssl.models.utils.pretrained_init.InitReport`);
any missing or mismatched key is an error, since a partly random teacher gives meaningless
targets.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from abc import ABCMeta, abstractmethod
from pathlib import Path
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor, nn

from mmssl.models.utils.pretrained_init import STATUSES, InitReport, classify_key

DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}
INPUT_RANGES = {'unit': 1.0, '255': 255.0}


@contextlib.contextmanager
def no_download():
    """Build models with the Hugging Face hub switched off and ``torch.hub`` downloads refused.

    timm and open_clip are always called with ``pretrained=False``; this is a second guard, so a
    change in either library cannot fetch weights silently.
    """
    saved = {k: os.environ.get(k) for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')}
    os.environ['HF_HUB_OFFLINE'] = os.environ['TRANSFORMERS_OFFLINE'] = '1'
    original = torch.hub.load_state_dict_from_url

    def _refuse(url, *args, **kwargs):
        raise RuntimeError(f'mmssl teachers never download weights (asked for {url}); use checkpoint=')

    torch.hub.load_state_dict_from_url = _refuse
    try:
        yield
    finally:
        torch.hub.load_state_dict_from_url = original
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f'{type(err).__name__}: {lines[0] if lines else ""}'


def read_weights_file(path: str | os.PathLike, expected: str, allow_jit: bool = False) -> Dict[str, Tensor]:
    """The tensors of a local weights file, unwrapped from ``model`` / ``state_dict`` / ``teacher``.

    Args:
        path: the file: ``torch.save`` of a state dict or of a dict holding one, a
            ``.safetensors`` file, and with ``allow_jit`` also a TorchScript archive such as
            OpenAI's CLIP ``ViT-B-16.pt``.
        expected: a description of the accepted layouts, repeated in the errors.
        allow_jit: accept TorchScript archives.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be read as a state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'teacher weights file {path} does not exist; expected {expected}')
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device='cpu')
        except Exception as err:  # noqa: BLE001 - every reader failure names the file
            raise ValueError(
                f'teacher weights file {path} cannot be read as safetensors ({_first_line(err)}); '
                f'expected {expected}'
            ) from err
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='.*looks like a TorchScript archive')
            obj = torch.load(path, map_location='cpu', weights_only=True)
        if isinstance(obj, torch.jit.ScriptModule):  # torch.load hands TorchScript archives to torch.jit
            if not allow_jit:
                raise ValueError('a TorchScript archive')
            obj = obj.state_dict()
    except Exception as err:  # noqa: BLE001 - every reader failure names the file
        if not allow_jit:
            raise ValueError(
                f'teacher weights file {path} cannot be read ({_first_line(err)}); expected {expected}'
            ) from err
        try:
            obj = torch.jit.load(str(path), map_location='cpu').state_dict()
        except Exception as jit_err:  # noqa: BLE001
            raise ValueError(
                f'teacher weights file {path} is neither a torch.save state dict ({_first_line(err)}) '
                f'nor a TorchScript archive ({_first_line(jit_err)}); expected {expected}'
            ) from jit_err
    for wrapper in ('model', 'state_dict', 'teacher'):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict) or not any(torch.is_tensor(v) for v in obj.values()):
        raise ValueError(f'teacher weights file {path} holds no state dict of tensors; expected {expected}')
    return {k: v for k, v in obj.items() if torch.is_tensor(v)}


def strip_prefixes(state: Dict[str, Tensor], prefixes: Sequence[str]) -> Dict[str, Tensor]:
    """Remove each of ``prefixes`` (in order) from the keys where every key carries it."""
    for prefix in prefixes:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def load_teacher_state(
    model: nn.Module, state: Dict[str, Tensor], checkpoint: str, layout: str, ignored: int = 0
) -> InitReport:
    """Load mapped ``state`` into ``model`` strictly; log the key report.

    Args:
        model: the timm / open_clip network.
        state: its keys already mapped to ``model``'s names.
        checkpoint: the file, for the report and the errors.
        layout: the detected key layout, for the report.
        ignored: keys of the file dropped on purpose before mapping (e.g. CLIP's text tower).

    Returns:
        The report (one module, ``'<teacher>'``).

    Raises:
        ValueError: a model key is missing or has another shape in the file.
    """
    own = model.state_dict()
    keys = {s: [] for s in STATUSES}
    for key, value in state.items():
        classify_key(keys, key, value, own, source='file')
    keys['missing'] = [k for k in own if k not in state]
    report = InitReport(checkpoint=f'{checkpoint} ({layout} layout)')
    report.modules['<teacher>'] = keys
    table = report.table()
    if ignored:
        table += f'\n  {ignored} keys of the file ignored on purpose (not part of the image tower)'
    print_log(table, logger='current')
    if keys['missing'] or keys['shape-mismatched']:
        bad = (keys['missing'] + keys['shape-mismatched'])[:5]
        raise ValueError(
            f'teacher weights file {checkpoint} ({layout} layout) does not fit the configured architecture: '
            f'{len(keys["missing"])} missing and {len(keys["shape-mismatched"])} shape-mismatched keys, '
            f'e.g. {bad}; check the arch/size in the config'
        )
    model.load_state_dict({k: state[k] for k in keys['loaded']}, strict=False)
    return report


def upsample_to_stride(
    feats: Tensor, input_size: Tuple[int, int], out_stride: int | None, align_corners: bool = False
) -> Tensor:
    """Bilinearly upsample ``(M, C, h, w)`` maps to ``input_size / out_stride`` (``None``: unchanged)."""
    if out_stride is None:
        return feats
    size = (input_size[0] // out_stride, input_size[1] // out_stride)
    if tuple(feats.shape[-2:]) == size:
        return feats
    return F.interpolate(feats, size=size, mode='bilinear', align_corners=align_corners)


class FrozenImageTeacher(nn.Module, metaclass=ABCMeta):
    """Base of the frozen ViT teachers: input handling, precision, layer choice, frozen state.

    Args:
        input_size: ``(H, W)`` the ViT runs at (multiples of the patch size).
        layer: block whose tokens are returned (``-1``: last; ``i >= 0``: the i-th block).
        after_norm: apply the final norm to those tokens (``False``: ScaLR's pre-norm features).
        out_stride: upsample the patch grid bilinearly to ``input_size / out_stride``; ``None``
            keeps the patch grid ``input_size / patch``.
        align_corners: of that upsampling (ScaLR: ``True``).
        dtype: ``'fp32'``, ``'fp16'`` or ``'bf16'`` inference (see the module docstring).
        input_range: ``'unit'`` (images in [0, 1]) or ``'255'`` (images in [0, 255]).
        channel_order: ``'rgb'`` or ``'bgr'`` (flipped to RGB).
        mean: per-channel mean of [0, 1] RGB images.
        std: per-channel std of [0, 1] RGB images.
    """

    patch_size: int

    def __init__(
        self,
        input_size: Sequence[int],
        layer: int = -1,
        after_norm: bool = False,
        out_stride: int | None = None,
        align_corners: bool = False,
        dtype: str = 'fp32',
        input_range: str = 'unit',
        channel_order: str = 'rgb',
        mean: Sequence[float] = (0.485, 0.456, 0.406),
        std: Sequence[float] = (0.229, 0.224, 0.225),
    ) -> None:
        super().__init__()
        if dtype not in DTYPES:
            raise ValueError(f'dtype must be one of {sorted(DTYPES)}, got {dtype!r}')
        if input_range not in INPUT_RANGES:
            raise ValueError(f"input_range must be 'unit' ([0, 1]) or '255' ([0, 255]), got {input_range!r}")
        if channel_order not in ('rgb', 'bgr'):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.layer, self.after_norm = int(layer), bool(after_norm)
        self.out_stride, self.align_corners = out_stride, align_corners
        self.dtype_name, self.input_range, self.channel_order = dtype, input_range, channel_order
        self.input_scale = INPUT_RANGES[input_range]
        self.register_buffer(
            'mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self._warned_fp16_cpu = False

    def _check_input_size(self, patch: int) -> None:
        if self.input_size[0] % patch or self.input_size[1] % patch:
            raise ValueError(f'input_size {self.input_size} must be a multiple of the patch size {patch}')

    def _freeze(self) -> None:
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenImageTeacher:
        """A frozen teacher stays in eval mode whatever ``mode`` is."""
        return super().train(False)

    @property
    @abstractmethod
    def out_channels(self) -> int:
        """Feature width ``C``."""

    def preprocess(self, images: Tensor) -> Tensor:
        """``(M, 3, H, W)`` images -> normalised ``(M, 3, *input_size)`` fp32 RGB."""
        x = images.float() / self.input_scale
        if self.channel_order == 'bgr':
            x = x.flip(1)
        if tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode='bilinear', align_corners=False, antialias=True)
        return (x - self.mean) / self.std

    def _autocast(self, device: torch.device):
        dtype = DTYPES[self.dtype_name]
        if dtype == torch.float32:
            return contextlib.nullcontext()
        if device.type == 'cpu' and dtype == torch.float16:
            if not self._warned_fp16_cpu:
                warnings.warn(
                    f"{type(self).__name__}: dtype='fp16' on the CPU runs in fp32 (use 'bf16')", stacklevel=3
                )
                self._warned_fp16_cpu = True
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=dtype)

    @abstractmethod
    def patch_features(self, x: Tensor) -> Tensor:
        """Normalised ``(M, 3, *input_size)`` -> ``(M, C, H/p, W/p)`` tokens of the chosen layer."""

    @torch.no_grad()
    def forward_patches(self, images: Tensor) -> Tensor:
        """Patch-grid features of multi-view images (what the feature cache stores).

        Args:
            images: ``(B, N, 3, H, W)`` in ``input_range`` and ``channel_order``.

        Returns:
            ``(B, N, C, H_in/p, W_in/p)`` fp32 features, ``(H_in, W_in) = input_size``.
        """
        if images.dim() != 5 or images.shape[2] != 3:
            raise ValueError(f'images must be (B, N, 3, H, W), got {tuple(images.shape)}')
        b, n = images.shape[:2]
        x = self.preprocess(images.flatten(0, 1))
        with self._autocast(x.device):
            feats = self.patch_features(x)
        return feats.float().unflatten(0, (b, n))

    @torch.no_grad()
    def forward(self, images: Tensor, tokens: Sequence[str] | None = None) -> Tensor:
        """Teacher features of multi-view images.

        Args:
            images: ``(B, N, 3, H, W)`` in ``input_range`` and ``channel_order``.
            tokens: the samples' tokens; unused (accepted so a method calls a live teacher and
                :class:`~mmssl.models.target_generators.CachedTeacherFeatures` alike).

        Returns:
            ``(B, N, C, h, w)`` fp32 features, ``(h, w) = input_size / patch`` or
            ``input_size / out_stride``.
        """
        feats = self.forward_patches(images)
        b, n = feats.shape[:2]
        feats = upsample_to_stride(feats.flatten(0, 1), self.input_size, self.out_stride, self.align_corners)
        return feats.unflatten(0, (b, n))
