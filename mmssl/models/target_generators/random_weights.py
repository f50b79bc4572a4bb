"""Randomly initialised teacher weights, for machines without the released files.

Nothing may be downloaded, so a CPU benchmark of a teacher method has no pretrained DINOv2. A
config can then name a weights file of a *randomly initialised* ViT of the teacher's
architecture, declared at the config's top level so that every result built on it says so::

    random_teacher_weights = dict(arch='vit_small_patch14_dinov2', seed=0,
                                  checkpoint='data/weights/dinov2_vits14_random_seed0.pth')

:func:`write_random_teacher` writes it (timm layout, ``pos_embed`` on the official 37 x 37 grid
of 518 px, so :class:`~mmssl.models.target_generators.DINOv2Teacher` loads it like a released
file); ``tools/make_random_teacher.py CONFIG`` and the label-efficiency harness call it. Random
ViT features are a fixed random function of the image patches: a weak teacher, never a stand-in
for DINOv2's figures.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Dict

import torch

from mmssl.utils.atomic_io import atomic_write_bytes

from .dinov2 import DINOV2_ARCHS
from .image_teacher import no_download

#: Keys of a config's ``random_teacher_weights``.
RANDOM_TEACHER_KEYS = ('arch', 'seed', 'checkpoint')


def write_random_teacher(
    arch: str, checkpoint: str | Path, seed: int = 0, overwrite: bool = False
) -> Dict[str, Any]:
    """Write the state dict of a randomly initialised DINOv2-architecture ViT.

    Args:
        arch: one of :data:`~mmssl.models.target_generators.dinov2.DINOV2_ARCHS`.
        checkpoint: the file to write (folders are created; written atomically).
        seed: ``torch.manual_seed`` before the model is built (same seed, same weights).
        overwrite: rewrite an existing file (default: leave it).

    Returns:
        ``dict(arch, seed, checkpoint, written, params)``.
    """
    import timm

    if arch not in DINOV2_ARCHS:
        raise ValueError(f'arch must be one of {DINOV2_ARCHS}, got {arch!r}')
    path = Path(checkpoint)
    info = dict(arch=arch, seed=int(seed), checkpoint=str(path), written=False, params=None)
    if path.exists() and not overwrite:
        return info
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(int(seed))
        with no_download():
            model = timm.create_model(arch, pretrained=False, img_size=518, num_classes=0)
    finally:
        torch.random.set_rng_state(gen_state)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    atomic_write_bytes(buf.getvalue(), path)
    info.update(written=True, params=sum(p.numel() for p in model.parameters()))
    return info


def random_teacher_from_config(cfg) -> Dict[str, Any] | None:
    """Write a config's ``random_teacher_weights`` file if it is missing (None: not declared).

    Raises:
        ValueError: the entry lacks one of :data:`RANDOM_TEACHER_KEYS`.
    """
    spec = cfg.get('random_teacher_weights')
    if spec is None:
        return None
    missing = [k for k in RANDOM_TEACHER_KEYS if k not in spec]
    if missing:
        raise ValueError(f'random_teacher_weights needs {RANDOM_TEACHER_KEYS}; missing {missing}')
    return write_random_teacher(spec['arch'], spec['checkpoint'], seed=spec['seed'])
