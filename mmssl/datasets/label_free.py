"""Guard that a pre-training pipeline never touches labels.

Self-supervised pre-training must not see annotations: no ground-truth database sampling
(``ObjectSample``, the "GT-paste" augmentation), no box-dependent augmentation or filtering
(``ObjectNoise``, ``ObjectRangeFilter``, ``ObjectNameFilter``, ``BackgroundPointsFilter``), no
annotation loading (``LoadAnnotations3D`` and any other subclass of MMCV's ``LoadAnnotations``),
no label rasterisation (``LoadBEVMapSegmentation``: map layers are labels) and no ``gt_*`` key
(e.g. ``gt_bboxes_3d``, ``gt_bev_seg``) packed for the model, as a label (``keys``) or as a target
(``ssl_keys``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def label_dependent_transforms() -> tuple[type, ...]:
    """Transform classes that read or produce annotations (subclasses count too)."""
    from mmcv.transforms import LoadAnnotations
    from mmdet3d.datasets.transforms import (
        BackgroundPointsFilter,
        ObjectNameFilter,
        ObjectNoise,
        ObjectRangeFilter,
        ObjectSample,
    )

    from mmssl.datasets.transforms import LoadBEVMapSegmentation

    return (
        LoadAnnotations,
        ObjectSample,
        ObjectNoise,
        ObjectRangeFilter,
        ObjectNameFilter,
        BackgroundPointsFilter,
        LoadBEVMapSegmentation,
    )


#: Results keys starting with this prefix are labels (``gt_bboxes_3d``, ``gt_labels_3d``,
#: ``gt_bev_seg``, ...): a pre-training pipeline must not pack any.
LABEL_KEY_PREFIX = 'gt_'


def _listed(value: Any) -> list:
    """The items of a ``keys``-like value (a list or tuple); nothing for a string, mapping or None."""
    if isinstance(value, Iterable) and not isinstance(value, (str, Mapping)):
        return list(value)
    return []


def _resolve(type_: Any) -> type | None:
    """The class of a transform config ``type`` (a class, ``'Name'`` or ``'scope.Name'``)."""
    if isinstance(type_, type):
        return type_
    from mmdet3d.registry import TRANSFORMS as MMDET3D_TRANSFORMS

    from mmssl.registry import TRANSFORMS

    cls = TRANSFORMS.get(type_)
    if cls is None and '.' not in type_:
        cls = MMDET3D_TRANSFORMS.get(type_)
    return cls


def _iter_transforms(pipeline: Iterable[Any], path: str) -> Iterable[tuple[str, Any]]:
    """Yield ``(location, transform cfg or object)`` recursively (``transforms`` of wrappers)."""
    for i, item in enumerate(pipeline):
        loc = f'{path}[{i}]'
        if isinstance(item, Sequence) and not isinstance(item, (str, Mapping)):
            yield from _iter_transforms(item, loc)
            continue
        yield loc, item
        inner = item.get('transforms') if isinstance(item, Mapping) else getattr(item, 'transforms', None)
        if isinstance(inner, Sequence) and not isinstance(inner, str):
            yield from _iter_transforms(inner, f'{loc}.transforms')


def check_label_free_pipeline(pipeline_cfg: Sequence[Any], extra_forbidden: Sequence[type] = ()) -> None:
    """Raise if a pipeline (configs or built transforms) depends on or packs labels.

    Args:
        pipeline_cfg: List of transform configs (dicts with ``type``) and/or transform objects;
            wrappers' nested ``transforms`` are checked too.
        extra_forbidden: More classes to refuse.

    Raises:
        ValueError: Naming the offending transform and its position in the pipeline, if a
            label-dependent transform is present or a pack transform packs ``gt_*`` keys.
        KeyError: If a transform type cannot be resolved in the registries (a pipeline that
            cannot be inspected cannot be certified label-free).
    """
    forbidden = label_dependent_transforms() + tuple(extra_forbidden)
    for loc, item in _iter_transforms(pipeline_cfg, 'pipeline'):
        if isinstance(item, Mapping):
            if 'type' not in item:
                raise KeyError(f'{loc}: transform config without "type": {dict(item)}')
            cls = _resolve(item['type'])
            if cls is None:
                raise KeyError(
                    f'{loc}: transform type {item["type"]!r} is not registered; '
                    'cannot certify the pipeline label-free'
                )
            name = item['type'] if isinstance(item['type'], str) else cls.__name__
            keys = _listed(item.get('keys')) + _listed(item.get('ssl_keys'))
        else:
            cls = type(item)
            name = cls.__name__
            keys = _listed(getattr(item, 'keys', None)) + _listed(getattr(item, 'ssl_keys', None))
        if issubclass(cls, forbidden):
            raise ValueError(
                f'{loc}: {name} ({cls.__module__}.{cls.__qualname__}) depends on ground-truth '
                'labels and must not be in a pre-training pipeline'
            )
        gt_keys = [k for k in keys if isinstance(k, str) and k.startswith(LABEL_KEY_PREFIX)]
        if gt_keys:
            raise ValueError(
                f'{loc}: {name} packs label keys {gt_keys}; a pre-training '
                'pipeline must not pass labels to the model'
            )
