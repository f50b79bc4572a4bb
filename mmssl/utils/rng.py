"""Capture and restore every random number generator a training process draws from.

A checkpoint that keeps the model, the optimizer and the iteration counter but not the
generators resumes a run whose model draws masks or rays from torch's global generator
(NS-MAE) on a different random stream than the uninterrupted run. :func:`capture_rng_state`
returns the state of Python's ``random``, numpy's legacy global generator, torch's CPU
generator, every CUDA device's generator (when CUDA is initialised) and of every generator an
object owns as an attribute (``torch.Generator``, ``np.random.Generator``,
``np.random.RandomState``); :func:`restore_rng_state` puts them back.

The state is made of Python ints, strings, tuples, dicts and CPU tensors only, so a checkpoint
holding it still loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

_GENERATOR_TYPES = (torch.Generator, np.random.Generator, np.random.RandomState)


def _numpy_legacy_state(state: dict) -> dict:
    """``RandomState.get_state(legacy=False)`` with the uint32 key as an int64 tensor."""
    out = dict(state)
    inner = dict(out['state'])
    inner['key'] = torch.from_numpy(np.asarray(inner['key'], dtype=np.int64).copy())
    out['state'] = inner
    return out


def _numpy_legacy_array(state: dict) -> dict:
    out = dict(state)
    inner = dict(out['state'])
    key = inner['key']
    key = key.cpu().numpy() if isinstance(key, torch.Tensor) else np.asarray(key)
    inner['key'] = key.astype(np.uint32)
    out['state'] = inner
    return out


def _generator_state(gen: Any) -> dict:
    """State of one owned generator, tagged with its kind."""
    if isinstance(gen, torch.Generator):
        return dict(kind='torch', device=str(gen.device), state=gen.get_state().cpu())
    if isinstance(gen, np.random.RandomState):
        return dict(kind='numpy_random_state', state=_numpy_legacy_state(gen.get_state(legacy=False)))
    return dict(kind='numpy_generator', state=gen.bit_generator.state)


def _set_generator_state(gen: Any, saved: dict, name: str) -> None:
    kinds = {torch.Generator: 'torch', np.random.RandomState: 'numpy_random_state'}
    kind = next((k for t, k in kinds.items() if isinstance(gen, t)), 'numpy_generator')
    if saved['kind'] != kind:
        raise ValueError(f'generator {name}: saved a {saved["kind"]} state, the object is a {kind} generator')
    if kind == 'torch':
        gen.set_state(saved['state'].cpu())
    elif kind == 'numpy_random_state':
        gen.set_state(_numpy_legacy_array(saved['state']))
    else:
        gen.bit_generator.state = saved['state']


def owned_generators(roots: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    """Yield ``(name, generator)`` for every generator stored as an attribute of the objects.

    Args:
        roots: ``(prefix, object)`` pairs. A ``torch.nn.Module`` is searched with all its
            sub-modules (names ``<prefix>.<module path>.<attr>``); an object with a list
            attribute ``transforms`` (an MMEngine/MMCV ``Compose``) with every transform in it
            (``<prefix>[<i>].<attr>``), recursively.
    """
    for prefix, obj in roots:
        if obj is None:
            continue
        if isinstance(obj, torch.nn.Module):
            for mod_name, module in obj.named_modules():
                for attr, value in vars(module).items():
                    if isinstance(value, _GENERATOR_TYPES):
                        yield '.'.join(filter(None, [prefix, mod_name, attr])), value
            continue
        for attr, value in vars(obj).items() if hasattr(obj, '__dict__') else ():
            if isinstance(value, _GENERATOR_TYPES):
                yield f'{prefix}.{attr}', value
        transforms = getattr(obj, 'transforms', None)
        if isinstance(transforms, list):
            yield from owned_generators((f'{prefix}[{i}]', t) for i, t in enumerate(transforms))


def capture_rng_state(owned: Iterable[tuple[str, Any]] = ()) -> dict:
    """Return the state of the global generators and of the ``(name, generator)`` pairs given.

    Returns:
        ``dict(python=..., numpy=..., torch=ByteTensor, cuda=[ByteTensor per device] | None,
        owned={name: state})``.
    """
    cuda = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return dict(
        python=random.getstate(),
        numpy=_numpy_legacy_state(np.random.get_state(legacy=False)),
        torch=torch.get_rng_state(),
        cuda=cuda,
        owned={name: _generator_state(gen) for name, gen in owned},
    )


def restore_rng_state(state: dict, owned: Iterable[tuple[str, Any]] = ()) -> list[str]:
    """Put back a state of :func:`capture_rng_state`.

    Args:
        state: The captured state (tensors may be on any device).
        owned: The current ``(name, generator)`` pairs; each one whose name is in
            ``state['owned']`` is restored.

    Returns:
        Warnings: owned generators present on one side only, CUDA state that cannot be applied
        (no CUDA now, or another number of devices).
    """
    notes = []
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(_numpy_legacy_array(state['numpy']))
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda')
    if cuda is not None:
        if torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
        else:
            have = torch.cuda.device_count() if torch.cuda.is_available() else 0
            notes.append(f'CUDA generator state of {len(cuda)} device(s) not restored ({have} device(s) now)')
    saved = dict(state.get('owned') or {})
    for name, gen in owned:
        if name in saved:
            _set_generator_state(gen, saved.pop(name), name)
        else:
            notes.append(f'generator {name} has no saved state; it continues from its current state')
    notes += [f'saved generator {name} no longer exists; its state is dropped' for name in saved]
    return notes
