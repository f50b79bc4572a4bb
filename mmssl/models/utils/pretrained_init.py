"""Initialise parts of a detector from a pre-training checkpoint by module-prefix mapping.

A pre-training model (e.g. NS-MAE) and a detector share encoder modules under possibly
different names. ``prefix_map`` maps a key prefix of the checkpoint's ``state_dict`` to a key
prefix of the detector (``{'img_backbone.': 'img_backbone.', 'pts_middle_encoder.':
'pts_middle_encoder.'}``); checkpoint keys outside every source prefix are ignored (e.g. the
render head). For every mapped module the loader reports:

* ``loaded``: copied;
* ``missing``: detector keys under the destination prefix that the checkpoint lacks;
* ``unexpected``: mapped checkpoint keys with no such detector key;
* ``shape-mismatched``: both exist with different shapes (e.g. a first LiDAR layer
  pre-trained on 5 point features and fine-tuned on 4, as in AD-L-JEPA's transfer study).

With ``strict=False`` (default) mismatched keys are skipped with a warning; with
``strict=True`` any missing, unexpected or mismatched key is an error (nothing is loaded).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List

import torch
from mmengine.logging import print_log
from torch import nn

STATUSES = ('loaded', 'missing', 'unexpected', 'shape-mismatched')


@dataclass
class InitReport:
    """Per destination prefix: lists of keys in each status (see the module docstring)."""

    checkpoint: str
    modules: Dict[str, Dict[str, List[str]]] = field(default_factory=OrderedDict)

    def count(self, status: str) -> int:
        return sum(len(m[status]) for m in self.modules.values())

    def table(self) -> str:
        """A fixed-width table: one row per module, one column per status."""
        head = f'{"module":<28}' + ''.join(f'{s:>18}' for s in STATUSES)
        rows = [f'Initialising from {self.checkpoint}', head, '-' * len(head)]
        for prefix, keys in self.modules.items():
            rows.append(f'{prefix:<28}' + ''.join(f'{len(keys[s]):>18}' for s in STATUSES))
        rows.append(f'{"total":<28}' + ''.join(f'{self.count(s):>18}' for s in STATUSES))
        for keys in self.modules.values():
            for key in keys['shape-mismatched']:
                rows.append(f'  shape mismatch (skipped): {key}')
        return '\n'.join(rows)


def read_state_dict(checkpoint: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of an MMEngine checkpoint (or a bare state dict), CPU tensors.

    A ``module.`` prefix (DDP) is removed.
    """
    from mmengine.runner.checkpoint import _load_checkpoint

    ckpt = _load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise TypeError(f'{checkpoint}: expected a dict checkpoint, got {type(ckpt).__name__}')
    state = ckpt.get('state_dict', ckpt)
    return OrderedDict(
        (k[len('module.') :] if k.startswith('module.') else k, v)
        for k, v in state.items()
        if torch.is_tensor(v)
    )


def _peft_base_key(key: str, dst_state: dict) -> str:
    """``key``, or its peft form when the layer is LoRA-wrapped (``a.conv.weight`` ->
    ``a.conv.base_layer.weight``, :mod:`mmssl.models.finetune.lora`); LoRA's own adapter
    weights are not in a pre-training checkpoint and are not reported missing."""
    if key in dst_state:
        return key
    head, _, leaf = key.rpartition('.')
    wrapped = f'{head}.base_layer.{leaf}'
    return wrapped if wrapped in dst_state else key


def classify_key(
    entry: Dict[str, list],
    key: str,
    value: torch.Tensor,
    own: Dict[str, torch.Tensor],
    source: str = 'checkpoint',
) -> bool:
    """File ``key`` of a weights file under ``unexpected``, ``shape-mismatched`` or ``loaded``.

    Args:
        entry: one module's lists of an :class:`InitReport` (keys :data:`STATUSES`).
        key: the model key the file's tensor maps to.
        value: the file's tensor.
        own: the model's state dict.
        source: how the file is named in a shape-mismatch line.

    Returns:
        Whether the tensor can be loaded (the key exists with the same shape).
    """
    if key not in own:
        entry['unexpected'].append(key)
        return False
    if own[key].shape != value.shape:
        entry['shape-mismatched'].append(
            f'{key}: {source} {tuple(value.shape)} vs model {tuple(own[key].shape)}'
        )
        return False
    entry['loaded'].append(key)
    return True


def load_pretrained(
    model: nn.Module,
    checkpoint: str,
    prefix_map: Dict[str, str],
    strict: bool = False,
    logger: str | None = 'current',
) -> InitReport:
    """Copy the mapped parts of ``checkpoint`` into ``model``; print and log the table.

    Args:
        model: The detector.
        checkpoint: Path of an MMEngine checkpoint (``{'state_dict', 'meta', ...}``).
        prefix_map: Checkpoint key prefix -> model key prefix; the longest matching source
            prefix wins. Use ``''`` as a source prefix to map everything.
        strict: Raise (before loading anything) on missing, unexpected or mismatched keys.
        logger: MMEngine logger for the table (``print_log``).

    Returns:
        The :class:`InitReport`.

    Raises:
        ValueError: ``prefix_map`` is empty, or ``strict`` and the report is not clean.
    """
    if not prefix_map:
        raise ValueError('prefix_map is empty: name the modules to initialise')
    src_state = read_state_dict(checkpoint)
    dst_state = model.state_dict()
    report = InitReport(checkpoint=str(checkpoint))
    for dst in prefix_map.values():
        report.modules.setdefault(dst or '<all>', {s: [] for s in STATUSES})
    sources = sorted(prefix_map, key=len, reverse=True)
    to_load: Dict[str, torch.Tensor] = {}
    for key, value in src_state.items():
        src = next((p for p in sources if key.startswith(p)), None)
        if src is None:
            continue
        dst_prefix = prefix_map[src]
        entry = report.modules[dst_prefix or '<all>']
        dst_key = _peft_base_key(dst_prefix + key[len(src) :], dst_state)
        if classify_key(entry, dst_key, value, dst_state):
            to_load[dst_key] = value
    for dst_prefix in prefix_map.values():
        entry = report.modules[dst_prefix or '<all>']
        seen = (
            set(entry['loaded'])
            | set(entry['unexpected'])
            | {m.split(':')[0] for m in entry['shape-mismatched']}
        )
        entry['missing'] = [
            k for k in dst_state if k.startswith(dst_prefix) and k not in seen and '.lora_' not in k
        ]
    table = report.table()
    print(table)  # the table is part of the user-facing output, also in the run's log file
    print_log(table, logger=logger)
    problems = report.count('missing') + report.count('unexpected') + report.count('shape-mismatched')
    if strict and problems:
        raise ValueError(
            f'strict pre-trained init from {checkpoint}: {problems} missing, '
            f'unexpected or shape-mismatched keys\n{report.table()}'
        )
    if report.count('shape-mismatched'):
        print_log(
            f'skipped {report.count("shape-mismatched")} shape-mismatched keys '
            f'(set strict=True to make this an error)',
            logger=logger,
            level=30,
        )
    if not to_load:
        raise ValueError(f'no key of {checkpoint} matched prefix_map {prefix_map}')
    with torch.no_grad():
        for key, value in to_load.items():
            dst_state[key].copy_(value.to(dst_state[key].dtype))
    return report


def apply_init_from(model: nn.Module, init_from: dict | None) -> InitReport | None:
    """The detectors' ``init_from`` step: ``load_pretrained(model, **init_from)`` when
    ``init_from`` names a checkpoint, else nothing.

    Detectors call this at the end of ``init_weights``. MMEngine's Runner calls
    ``init_weights`` before ``load_from``/resume, so a resumed fine-tuning run keeps its own
    weights, and ``tools/test.py`` (no ``init_weights``) never needs the pre-training file.

    Args:
        init_from: ``dict(checkpoint=str | None, prefix_map={...}, strict=False)``.
    """
    if not init_from or not init_from.get('checkpoint'):
        return None
    unknown = set(init_from) - {'checkpoint', 'prefix_map', 'strict'}
    if unknown:
        raise KeyError(f'init_from: unknown keys {sorted(unknown)} (expected checkpoint, prefix_map, strict)')
    return load_pretrained(
        model,
        init_from['checkpoint'],
        dict(init_from.get('prefix_map') or {}),
        strict=bool(init_from.get('strict', False)),
    )
