"""The base class of every self-supervised pre-training algorithm of mmssl.

A self-supervisor is an MMEngine ``BaseModel``: the Runner calls
``forward(inputs, data_samples, mode='loss')`` with the output of the data preprocessor and
optimises the sum of the returned entries whose key contains ``'loss'``
(``BaseModel.parse_losses``); other entries are logged only, so diagnostics must not contain
``'loss'`` in their key.

Subclasses implement :meth:`extract_feat` (encoders -> embedding, the part that is kept for
fine-tuning; module names equal those of the downstream detector, e.g. ``img_backbone``,
``view_transform``, ``pts_middle_encoder``) and :meth:`loss` (embedding -> renderer/head ->
losses). ``mode='predict'`` is optional (e.g. renderings for visualisation).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, Dict, List, Sequence

from mmengine.model import BaseModel
from torch import Tensor


class BaseSelfSupervisor(BaseModel, metaclass=ABCMeta):
    """Base self-supervised algorithm.

    Args:
        data_preprocessor: config of the data preprocessor (e.g.
            ``dict(type='mmdet3d.Det3DDataPreprocessor', ...)``).
        init_cfg: MMEngine init config.
    """

    def __init__(self, data_preprocessor: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

    def forward(self, inputs: Dict[str, Any], data_samples: List | None = None, mode: str = 'tensor'):
        """Dispatch on ``mode``: ``'loss'`` -> :meth:`loss`, ``'tensor'`` ->
        :meth:`extract_feat`, ``'predict'`` -> :meth:`predict`."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"{type(self).__name__}: mode must be 'loss', 'tensor' or 'predict', got {mode!r}")

    @abstractmethod
    def extract_feat(self, inputs: Dict[str, Any], data_samples: List | None = None) -> Any:
        """Embed the (masked) inputs with the encoders to be transferred."""

    @abstractmethod
    def loss(self, inputs: Dict[str, Any], data_samples: List) -> Dict[str, Tensor]:
        """Self-supervised losses (keys with ``'loss'``) and diagnostics (keys without)."""

    def predict(self, inputs: Dict[str, Any], data_samples: List) -> List:
        """Pre-training algorithms have no detection output; subclasses may render here."""
        raise RuntimeError(
            f'{type(self).__name__} is a pre-training algorithm without a '
            'predict mode; fine-tune a detector from its checkpoint instead'
        )

    @staticmethod
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
