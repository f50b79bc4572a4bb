"""Published label-efficiency figures, read from a method's ``metafile.yml``.

A metafile (OpenMMLab model-index style, e.g. ``configs/nsmae/metafile.yml``) lists
``Models``; each names its pre-training ``Method`` (``scratch`` for a paper's baseline row) and
its ``Downstream Model`` under ``Metadata``, and holds ``Results`` entries with ``Dataset``,
``Label Fraction`` and ``Metrics``. The benchmark reads them as
``{(downstream model, method, fraction): {metric: value}}``.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_published(metafile: str | Path, dataset: str | None = None) -> dict:
    """Published figures of one metafile.

    Args:
        metafile: Path of the ``metafile.yml`` (relative paths from the repository root).
        dataset: Keep only results on this ``Dataset`` (e.g. ``'nuScenes val'``); all if None.

    Returns:
        ``{(model, method, fraction): {metric: float}}``; metrics of several results of one
        key (e.g. detection and segmentation tasks) are merged.

    Raises:
        FileNotFoundError: the metafile does not exist.
        KeyError: a model or result lacks a required key (named with the model).
        ValueError: one metric of one key is given twice with different values.
    """
    import yaml

    path = Path(metafile)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        raise FileNotFoundError(f'published figures: metafile {path} does not exist')
    doc = yaml.safe_load(path.read_text()) or {}
    out: dict = {}
    for model in doc.get('Models', []):
        name = model.get('Name', '?')
        meta = model.get('Metadata') or {}
        for key in ('Method', 'Downstream Model'):
            if key not in meta:
                raise KeyError(f'{path}: model {name!r} has no Metadata.{key}')
        for i, result in enumerate(model.get('Results') or []):
            for key in ('Label Fraction', 'Metrics'):
                if key not in result:
                    raise KeyError(f'{path}: model {name!r}, result {i} has no {key!r}')
            if dataset is not None and result.get('Dataset') != dataset:
                continue
            entry = out.setdefault(
                (meta['Downstream Model'], meta['Method'], float(result['Label Fraction'])), {}
            )
            for metric, value in result['Metrics'].items():
                if metric in entry and entry[metric] != float(value):
                    raise ValueError(
                        f'{path}: model {name!r} gives {metric} twice ({entry[metric]}, {value})'
                    )
                entry[metric] = float(value)
    return out
