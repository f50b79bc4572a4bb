"""Reading the pipeline's self-supervised targets (``data_sample.ssl_targets``) in models."""

from __future__ import annotations

from typing import List, Sequence

import torch
from torch import Tensor


def get_ssl_target(data_samples: Sequence, key: str, required: bool = True) -> List:
    """Per-sample ``data_sample.ssl_targets.<key>`` (None where absent and not required).

    Raises:
        KeyError: naming the sample and the key, when a required target is missing.
    """
    out = []
    for i, ds in enumerate(data_samples):
        targets = ds.get('ssl_targets', None) if hasattr(ds, 'get') else None
        value = targets.get(key, None) if targets is not None else None
        if value is None and required:
            sample = ds.metainfo.get('sample_idx', i) if hasattr(ds, 'metainfo') else i
            present = sorted(targets.keys()) if targets is not None else 'no ssl_targets'
            raise KeyError(
                f'sample {sample}: data_sample.ssl_targets has no {key!r} '
                f'(present: {present}); add the target transform to the pipeline'
            )
        out.append(value)
    return out


def stacked_ssl_target(data_samples: Sequence, key: str, device: torch.device | str) -> Tensor | None:
    """``ssl_targets.<key>`` of every sample stacked on ``device``, or None if any sample lacks it."""
    values = get_ssl_target(data_samples, key, required=False)
    if not values or any(v is None for v in values):
        return None
    return torch.stack([torch.as_tensor(v, device=device) for v in values])
