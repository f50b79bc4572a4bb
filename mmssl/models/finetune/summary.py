"""Counts of trainable parameters per top-level module, printed and logged by every run."""

from __future__ import annotations

from torch import nn


def trainable_summary(model: nn.Module) -> list[dict]:
    """Trainable and total parameter counts of each top-level child of ``model``.

    Args:
        model: The detector (a wrapper's ``.module``, not the wrapper).

    Returns:
        One row per top-level child that has parameters, then a ``'total'`` row:
        ``dict(module, trainable, total, share)`` with ``share = trainable / total`` of that
        module (``0.0`` when it has no parameters). Parameters held by ``model`` itself are
        counted under ``'<root>'``.
    """
    rows: dict[str, list[int]] = {}
    for name, param in model.named_parameters():
        module = name.split('.', 1)[0] if '.' in name else '<root>'
        counts = rows.setdefault(module, [0, 0])
        counts[1] += param.numel()
        if param.requires_grad:
            counts[0] += param.numel()
    trainable = sum(c[0] for c in rows.values())
    total = sum(c[1] for c in rows.values())
    out = [dict(module=m, trainable=t, total=n, share=t / n if n else 0.0) for m, (t, n) in rows.items()]
    out.append(
        dict(module='total', trainable=trainable, total=total, share=trainable / total if total else 0.0)
    )
    return out


def format_summary(rows: list[dict]) -> str:
    """The rows of :func:`trainable_summary` as a fixed-width text table."""
    width = max(len(r['module']) for r in rows)
    lines = [f'{"module":<{width}}  {"trainable":>12}  {"total":>12}  {"share":>7}']
    for r in rows:
        lines.append(
            f'{r["module"]:<{width}}  {r["trainable"]:>12,}  {r["total"]:>12,}  {100 * r["share"]:>6.2f}%'
        )
    return '\n'.join(lines)
