"""The superpixel cache on disk: layout, lossless 16-bit PNG maps, ``meta.json`` and its reader.

Layout (``tools/make_superpixels.py`` writes it)::

    <cache_root>/<source cache name>/meta.json                      # source config, image sizes
    <cache_root>/<source cache name>/<sample token>/<camera>.png    # one map per (sample, camera)

The source cache name is :meth:`SuperpixelSource.cache_name` (``slic`` for SLidR's settings,
``slic_<8 hex>`` for others), so maps of different settings never mix. Tokens and camera names
keep ``[A-Za-z0-9_.-]``; other characters become ``_``.

Maps are stored as **uint16** single-channel PNG (lossless; ids ``0 .. 65535``). Not uint8: a
map with more than 256 segments would wrap around silently (the bug of Seal's superpixel script,
which cast the ids to uint8); :func:`write_map` refuses ids outside the uint16 range instead.
Files are written atomically (temporary file + rename), so an interrupted build never leaves a
truncated PNG.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict

import cv2
import numpy as np

from mmssl.utils.atomic_io import atomic_write_bytes

from .sources import SuperpixelSource, build_superpixel_source

CACHE_VERSION = 1
META_FILE = 'meta.json'
MAX_ID = np.iinfo(np.uint16).max
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'\x00\x00\x00\x00IEND\xaeB`\x82'
TOOL = 'tools/make_superpixels.py'


def _safe(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.-]', '_', str(name))


def source_dir(cache_root: str | Path, source: SuperpixelSource) -> Path:
    """``<cache_root>/<source.cache_name()>``."""
    return Path(cache_root) / source.cache_name()


def map_path(folder: str | Path, token: str, camera: str) -> Path:
    """``<folder>/<token>/<camera>.png``."""
    return Path(folder) / _safe(token) / f'{_safe(camera)}.png'


def encode_map(ids: np.ndarray) -> bytes:
    """PNG bytes (uint16, one channel) of an ``(H, W)`` id map.

    Raises:
        ValueError: not 2-D, not integer, or an id outside ``[0, 65535]``.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f'a superpixel map must be a 2-D integer array, got {ids.dtype} {ids.shape}')
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi > MAX_ID:
        raise ValueError(
            f'superpixel ids must lie in [0, {MAX_ID}] to be stored as uint16 PNG, got [{lo}, {hi}]'
        )
    ok, buf = cv2.imencode('.png', ids.astype(np.uint16))
    if not ok:
        raise ValueError(f'could not encode a {ids.shape} superpixel map as PNG')
    return buf.tobytes()


def write_map(path: str | Path, ids: np.ndarray) -> None:
    """Store an ``(H, W)`` id map as a uint16 PNG, atomically (see :func:`encode_map`)."""
    atomic_write_bytes(encode_map(ids), path)


def read_map(path: str | Path) -> np.ndarray:
    """``(H, W)`` int32 ids of a stored map.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a single-channel 16-bit PNG (corrupt, truncated, or another file).
    """
    path = Path(path)
    data = np.frombuffer(path.read_bytes(), np.uint8)
    ids = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if ids is None or ids.ndim != 2 or ids.dtype != np.uint16:
        what = 'undecodable' if ids is None else f'{ids.dtype} {ids.shape}'
        raise ValueError(f'{path}: not a superpixel map (expected a single-channel uint16 PNG, got {what})')
    return ids.astype(np.int32)


def map_complete(path: str | Path) -> bool:
    """Whether ``path`` is a whole PNG (signature and final ``IEND`` chunk; no decoding)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size < len(_PNG_SIGNATURE) + len(_PNG_END):
            return False
        with open(path, 'rb') as f:
            head = f.read(len(_PNG_SIGNATURE))
            f.seek(-len(_PNG_END), 2)
            tail = f.read()
    except OSError:
        return False
    return head == _PNG_SIGNATURE and tail == _PNG_END


def read_meta(folder: str | Path) -> Dict[str, Any]:
    """``meta.json`` of a source folder.

    Raises:
        FileNotFoundError: the folder holds no ``meta.json``.
    """
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{path} does not exist: {folder} is not a superpixel cache')
    return json.loads(path.read_text())


def update_meta(
    folder: str | Path,
    source: SuperpixelSource,
    image_shapes: Dict[str, Any] | None = None,
    build: Dict[str, str] | None = None,
) -> Dict[str, Any]:
    """Create or extend ``meta.json`` (atomically): the source config, the ``(H, W)`` per camera, the builds.

    Args:
        folder: the source folder.
        source: its source; an existing ``meta.json`` must record the same config.
        image_shapes: ``{camera: (H, W)}`` of the images segmented (merged into the recorded ones).
        build: ``dict(info=..., data_root=...)`` of a build (recorded once).

    Returns:
        The meta written.

    Raises:
        ValueError: ``meta.json`` records another source config.
    """
    folder = Path(folder)
    if (folder / META_FILE).is_file():
        meta = read_meta(folder)
        if meta['source'] != source.config():
            raise ValueError(
                f'{folder} holds superpixels of {meta["source"]}, not of {source.config()}; '
                'use another cache root'
            )
    else:
        meta = dict(
            version=CACHE_VERSION,
            source=source.config(),
            name=source.cache_name(),
            format='<sample token>/<camera>.png: uint16 single-channel PNG, ids 0..K-1 per image',
            image_shapes={},
            builds=[],
        )
    for cam, shape in (image_shapes or {}).items():
        meta['image_shapes'][cam] = [int(s) for s in shape]
    if build is not None and build not in meta['builds']:
        meta['builds'].append(build)
    atomic_write_bytes(json.dumps(meta, indent=1, sort_keys=True).encode(), folder / META_FILE)
    return meta


def build_command(
    cache_root: str | Path, source: SuperpixelSource, meta: Dict[str, Any] | None = None
) -> str:
    """The command that builds (or completes) this cache (the recorded info file if known)."""
    builds = (meta or {}).get('builds') or [dict(info='INFO_PKL', data_root='DATA_ROOT')]
    info, root = builds[-1]['info'], builds[-1]['data_root']
    cmd = f'python {TOOL} {info} {root} {cache_root} --source {source.name}'
    extra = {k: v for k, v in source.settings.items() if source.default_settings().get(k) != v}
    if extra:
        cmd += ' --source-options ' + ' '.join(f'{k}={v}' for k, v in extra.items())
    return cmd


class SuperpixelCache:
    """Reader of the superpixel maps of one source.

    ``meta.json`` is checked on the first :meth:`load` (building a pipeline needs no cache).

    Args:
        cache_root: the ``--cache-root`` of ``tools/make_superpixels.py``.
        source: the source (registered name such as ``'slic'``, config dict or instance);
            its settings select the folder.
    """

    def __init__(
        self, cache_root: str | Path, source: str | Dict[str, Any] | SuperpixelSource = 'slic'
    ) -> None:
        self.cache_root = Path(cache_root)
        self.source = build_superpixel_source(source)
        self.folder = source_dir(self.cache_root, self.source)
        self._meta: Dict[str, Any] | None = None

    @property
    def meta(self) -> Dict[str, Any]:
        """``meta.json`` of the folder, checked against the source.

        Raises:
            FileNotFoundError: no cache of this source under ``cache_root`` (names the command).
            ValueError: the cache holds another source config.
        """
        if self._meta is None:
            if not (self.folder / META_FILE).is_file():
                others = sorted(p.parent.name for p in self.cache_root.glob(f'*/{META_FILE}'))
                found = f' (it holds: {others})' if others else ''
                raise FileNotFoundError(
                    f'no superpixel cache of {self.source} under {self.cache_root}{found}: '
                    f'{self.folder / META_FILE} does not exist; build it with: '
                    f'{build_command(self.cache_root, self.source)}'
                )
            meta = read_meta(self.folder)
            if meta['source'] != self.source.config():
                raise ValueError(
                    f'{self.folder} holds superpixels of {meta["source"]}, not of {self.source.config()}'
                )
            self._meta = meta
        return self._meta

    def path(self, token: str, camera: str) -> Path:
        """The file of one (sample, camera)."""
        return map_path(self.folder, token, camera)

    def load(self, token: str, camera: str) -> np.ndarray:
        """``(H, W)`` int32 superpixel ids of one sample's camera, on the full un-augmented image.

        Raises:
            FileNotFoundError: the cache or this map is missing (names token, camera, file and
                the command that builds it).
            ValueError: the file is not a superpixel map.
        """
        meta = self.meta
        path = self.path(token, camera)
        if not path.is_file():
            raise FileNotFoundError(
                f'no superpixel map for sample {token} camera {camera}: {path} does not exist '
                f'(cache {self.folder} is incomplete); build the missing maps with: '
                f'{build_command(self.cache_root, self.source, meta)}'
            )
        return read_map(path)
