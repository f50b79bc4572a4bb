"""A disk cache of frozen-teacher features, keyed by what determines them, and its reader.

Layout under a cache root (``tools/cache_teacher_features.py`` writes it)::

    <root>/<Teacher>_<hash12>/cache_meta.json      # the key, its hash, C/h/w, the format version
    <root>/<Teacher>_<hash12>/<sample token>.pt    # one file per sample, written atomically

The **key** (:func:`teacher_cache_key`) is every setting of the teacher config that changes the
patch features: teacher class, ``arch`` and its extra arguments, the weights file's name, ``layer``,
``after_norm``, ``input_size``, ``input_range``, ``channel_order`` and the normalisation. Settings
applied after the cache (``out_stride``, ``align_corners``) and the inference precision
(``dtype``) are not part of it; the weights are identified by file name only (the reader does
not need the file).

A sample file is ``torch.save`` of ``dict(features=(N, C, h, w) fp16 patch maps, token, cam_names,
key_hash, sha1)``, where ``sha1`` is the digest of the fp16 bytes, so a truncated or corrupt file
is detected on reading (:func:`read_entry`).
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os.path as osp
import re
from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch
from torch import Tensor, nn

from mmssl.registry import MODELS
from mmssl.utils.atomic_io import atomic_write_bytes

from .image_teacher import FrozenImageTeacher, upsample_to_stride

CACHE_VERSION = 1
META_FILE = 'cache_meta.json'
_NOT_IN_KEY = ('type', 'checkpoint', 'dtype', 'out_stride', 'align_corners')


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    return value


def teacher_cache_key(teacher_cfg: Dict[str, Any]) -> Dict[str, Any]:
    """The settings of a teacher config that determine its patch features (defaults filled in).

    Args:
        teacher_cfg: e.g. ``dict(type='DINOv2Teacher', checkpoint=..., layer=-1, ...)``.

    Returns:
        A JSON-able dict (see the module docstring).
    """
    cfg = dict(teacher_cfg)
    cls = MODELS.get(cfg['type'])
    if cls is None or not issubclass(cls, FrozenImageTeacher):
        raise ValueError(f'{cfg["type"]!r} is not a registered FrozenImageTeacher')
    params: Dict[str, Any] = {}
    for owner in (FrozenImageTeacher, cls):
        for name, p in inspect.signature(owner.__init__).parameters.items():
            if p.default is not inspect.Parameter.empty:
                params[name] = p.default
    if cls.__name__ == 'CLIPTeacher':  # its mean/std defaults are set in __init__
        from .clip import OPENAI_MEAN, OPENAI_STD

        params.update(mean=OPENAI_MEAN, std=OPENAI_STD)
    params.update(cfg)
    key = {k: v for k, v in params.items() if k not in _NOT_IN_KEY}
    key['teacher'] = cls.__name__
    key['weights'] = osp.basename(str(cfg.get('checkpoint', '')))
    return _jsonable(key)


def key_hash(key: Dict[str, Any]) -> str:
    """12 hex digits of the SHA-1 of the canonical JSON of ``key``."""
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def cache_dir(root: str | Path, key: Dict[str, Any]) -> Path:
    """The folder of ``key``'s cache under ``root``."""
    return Path(root) / f'{key["teacher"]}_{key_hash(key)}'


def entry_path(folder: str | Path, token: str) -> Path:
    """The file of one sample (the token with path-unsafe characters replaced)."""
    return Path(folder) / f'{re.sub(r"[^A-Za-z0-9_.-]", "_", str(token))}.pt'


def write_meta(folder: str | Path, key: Dict[str, Any], channels: int, grid: Sequence[int]) -> None:
    """Write (atomically) ``cache_meta.json``; an existing one must hold the same key."""
    folder = Path(folder)
    meta = dict(version=CACHE_VERSION, key=key, hash=key_hash(key), channels=int(channels), grid=list(grid))
    if (folder / META_FILE).is_file():
        old = read_meta(folder)
        if old['key'] != key:
            raise ValueError(f'{folder} holds a cache of another teacher key: {old["key"]} (asked: {key})')
        return
    atomic_write_bytes(json.dumps(meta, indent=1, sort_keys=True).encode(), folder / META_FILE)


def read_meta(folder: str | Path) -> Dict[str, Any]:
    """``cache_meta.json`` of a cache folder."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{path} does not exist: {folder} is not a teacher feature cache')
    return json.loads(path.read_text())


def write_entry(
    folder: str | Path, token: str, features: Tensor, cam_names: Sequence[str], khash: str
) -> Path:
    """Store one sample's ``(N, C, h, w)`` features as fp16, atomically."""
    feats = features.detach().to('cpu', torch.float16).contiguous()
    entry = dict(
        features=feats,
        token=str(token),
        cam_names=list(cam_names),
        key_hash=khash,
        sha1=hashlib.sha1(feats.numpy().tobytes()).hexdigest(),
    )
    buf = io.BytesIO()
    torch.save(entry, buf)
    path = entry_path(folder, token)
    atomic_write_bytes(buf.getvalue(), path)
    return path


def read_entry(path: str | Path, khash: str, channels: int | None = None, grid: Sequence[int] | None = None):
    """One sample's stored entry, verified.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable, truncated (digest mismatch), another key, or another shape.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no cached teacher features (run tools/cache_teacher_features.py)')
    try:
        entry = torch.load(path, map_location='cpu', weights_only=True)
        feats = entry['features']
        ok = hashlib.sha1(feats.contiguous().numpy().tobytes()).hexdigest() == entry['sha1']
    except Exception as err:  # noqa: BLE001 - any reader failure means a corrupt entry
        raise ValueError(f'{path}: corrupt or truncated cache entry ({type(err).__name__}: {err})') from err
    if not ok:
        raise ValueError(f'{path}: corrupt cache entry (digest mismatch)')
    if entry['key_hash'] != khash:
        raise ValueError(f'{path}: written for teacher key {entry["key_hash"]}, expected {khash}')
    if channels is not None and (feats.dim() != 4 or feats.shape[1] != channels):
        raise ValueError(f'{path}: features {tuple(feats.shape)}, expected (N, {channels}, h, w)')
    if grid is not None and list(feats.shape[-2:]) != list(grid):
        raise ValueError(f'{path}: feature grid {tuple(feats.shape[-2:])}, expected {tuple(grid)}')
    return entry


def entry_complete(path: str | Path, khash: str, channels: int, grid: Sequence[int]) -> bool:
    """Whether ``path`` holds a whole, verified entry (a resumed build skips it)."""
    try:
        read_entry(path, khash, channels, grid)
    except (FileNotFoundError, ValueError):
        return False
    return True


def resolve_cache(root: str | Path, key: Dict[str, Any]) -> Path:
    """The folder of ``key``'s cache: ``root`` itself when it is a cache folder, else below it.

    Raises:
        ValueError: the cache holds another key, or only caches of other keys exist under ``root``.
        FileNotFoundError: there is no cache under ``root``.
    """
    root = Path(root)
    if (root / META_FILE).is_file():
        folder = root
    else:
        folder = cache_dir(root, key)
        if not (folder / META_FILE).is_file():
            others = sorted(p.parent for p in root.glob(f'*/{META_FILE}')) if root.is_dir() else []
            if others:
                found = {p.name: read_meta(p)['key'] for p in others}
                raise ValueError(
                    f'no teacher feature cache for key {key} under {root}; it holds caches of other keys: '
                    f'{found}. Build this one with tools/cache_teacher_features.py'
                )
            raise FileNotFoundError(
                f'no teacher feature cache under {root} (expected {folder}); build it with '
                'tools/cache_teacher_features.py CONFIG'
            )
    meta = read_meta(folder)
    if meta['key'] != key:
        diff = {k: (meta['key'].get(k), v) for k, v in key.items() if meta['key'].get(k) != v}
        raise ValueError(
            f'the teacher feature cache {folder} was built for another teacher key; '
            f'differences (cached, configured): {diff}'
        )
    return folder


@MODELS.register_module()
class CachedTeacherFeatures(nn.Module):
    """Teacher features of a batch: read from the cache, or from the live teacher without one.

    With ``cache_root`` the teacher is not built (its weights file is not needed): the features
    of each sample token are read from the cache that matches the teacher config's key, then
    upsampled to the teacher's ``out_stride`` as the live teacher does. Without ``cache_root``
    the configured teacher runs on the images. Tokens are the data samples'
    ``metainfo['token']`` (packed by ``PackSSLInputs``).

    Args:
        teacher: config of a :class:`FrozenImageTeacher` (``DINOv2Teacher``, ``CLIPTeacher``).
        cache_root: a cache root (or one cache folder); ``None`` runs the teacher live.
    """

    def __init__(self, teacher: Dict[str, Any], cache_root: str | None = None) -> None:
        super().__init__()
        self.teacher_cfg = dict(teacher)
        self.key = teacher_cache_key(self.teacher_cfg)
        self.hash = key_hash(self.key)
        self.input_size = tuple(self.key['input_size'])
        self.out_stride = self.teacher_cfg.get('out_stride')
        self.align_corners = self.teacher_cfg.get('align_corners', False)
        self.cache_root = cache_root
        if cache_root is None:
            self.teacher = MODELS.build(self.teacher_cfg)
            self.folder = None
        else:
            self.teacher = None
            self.folder = resolve_cache(cache_root, self.key)
            meta = read_meta(self.folder)
            self.channels, self.grid = meta['channels'], meta['grid']

    def train(self, mode: bool = True) -> CachedTeacherFeatures:
        """Always in eval mode."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor | None = None, tokens: List[str] | None = None) -> Tensor:
        """Features ``(B, N, C, h, w)`` fp32.

        Args:
            images: ``(B, N, 3, H, W)`` (live teacher; with a cache only their device is used).
            tokens: ``B`` sample tokens (required with a cache).
        """
        if self.teacher is not None:
            if images is None:
                raise ValueError(
                    'CachedTeacherFeatures without cache_root runs the teacher live: pass images'
                )
            return self.teacher(images)
        if tokens is None:
            raise ValueError(f'reading the teacher feature cache {self.folder} needs the sample tokens')
        feats = []
        for token in tokens:
            entry = read_entry(entry_path(self.folder, token), self.hash, self.channels, self.grid)
            feats.append(entry['features'].float())
        if len({f.shape[0] for f in feats}) != 1:
            raise ValueError(f'cached samples {list(tokens)} have different camera counts')
        out = torch.stack(feats)
        if images is not None:
            out = out.to(images.device)
        b, n = out.shape[:2]
        out = upsample_to_stride(out.flatten(0, 1), self.input_size, self.out_stride, self.align_corners)
        return out.unflatten(0, (b, n))
