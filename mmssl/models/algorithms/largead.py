"""LargeAD: VFM superpixels, spatio-temporal consistency and multi-source pre-training.

Kong et al., "LargeAD: Large-Scale Cross-Sensor Data Pretraining for Autonomous Driving"
(arXiv 2501.04005; ../shared/papers/001_*.txt, an auto-generated summary; no public code:
../shared/METHOD_FACTS.md section 10). ``L = L_vfm + L_tmp + L_p2s + L_cdp``:

* ``L_vfm`` (Sec. 4.2): SLidR's superpixel-to-superpoint InfoNCE (:class:`.SLidR`, whose
  machinery this class reuses); the superpixels come from a vision foundation model (SAM, or the
  k-means-over-DINOv2 stand-in) instead of SLIC: the pipeline's ``LoadSuperpixels(source=...)``
  is the config value that chooses;
* ``L_tmp`` (Sec. 4.3): ground removed (RANSAC), the non-ground points of frames ``t`` and
  ``t + n`` (``n = 1``) clustered jointly with HDBSCAN in global coordinates (the pipeline's
  ``LoadTemporalFrame`` + ``TemporalSegments``: ``ssl_targets.point_segments``,
  ``temporal_points``, ``temporal_point_segments``), then each point's embedding contrasted with
  the mean embeddings of the segments of the *other* frame, its own segment the positive
  (:class:`~mmssl.models.losses.SegmentInfoNCELoss`), in both directions;
* ``L_p2s``: the same contrast against the segment means of the point's *own* frame (the
  summary: it "further aggregates same-instance points");
* ``L_cdp`` (Sec. 4.4): with several sources (datasets or LiDAR rigs, ``metainfo['source_index']``
  of :class:`~mmssl.datasets.MultiSourceDataset`), the superpoint-to-superpixel contrast with the
  superpixels of the *other* sources as the negatives
  (:class:`~mmssl.models.losses.CrossSourceInfoNCELoss`); zero in a batch of one source. The
  per-source input normalisation is the pipeline's ``PerSourceNormalizePoints``.

Where the summary is silent (this project's choices, docs/largead.md): the temperature of every
term (SLidR's 0.07), the forms of ``L_tmp``/``L_p2s``/``L_cdp`` above, gradients through both
the points and the segment means, segments need at least one point in the frame they are read
from, and all four weights 1. Deviations as in :mod:`.image2lidar` (student, teacher source).
Logged (not optimised): SLidR's statistics, ``segments_per_sample``, ``segmented_point_share``,
``temporal_match_share`` (share of a frame's segmented points whose segment is in the other
frame), ``sources_per_batch``.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmssl.models.utils import segment_mean
from mmssl.models.utils.ssl_targets import get_ssl_target
from mmssl.registry import MODELS

from .image2lidar import contrast_accuracy
from .slidr import SLidR

#: Default term configs (LargeAD's weights 1; SLidR's temperature, the summary gives none).
SEGMENT_NCE = dict(type='SegmentInfoNCELoss', temperature=0.07, loss_weight=1.0)
CROSS_SOURCE_NCE = dict(type='CrossSourceInfoNCELoss', temperature=0.07, loss_weight=1.0)


def _as_long(values: Sequence, device) -> List[Tensor]:
    return [torch.as_tensor(v, device=device).long().reshape(-1) for v in values]


@MODELS.register_module()
class LargeAD(SLidR):
    """LargeAD on the SLidR machinery (module docstring).

    Args:
        loss_tmp: the temporal term (``SegmentInfoNCELoss``); ``None`` switches it off (the
            paper's Table 9 ablation: without spatio-temporal consistency).
        loss_p2s: the point-to-segment term (``SegmentInfoNCELoss``); ``None``: off.
        loss_cdp: the cross-source term (``CrossSourceInfoNCELoss``); ``None``: off (one source).
        **kwargs: of :class:`~mmssl.models.algorithms.SLidR` (``loss`` is ``L_vfm``).
    """

    def __init__(
        self,
        loss_tmp: dict | None = SEGMENT_NCE,
        loss_p2s: dict | None = SEGMENT_NCE,
        loss_cdp: dict | None = CROSS_SOURCE_NCE,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.loss_tmp = MODELS.build(dict(loss_tmp)) if loss_tmp is not None else None
        self.loss_p2s = MODELS.build(dict(loss_p2s)) if loss_p2s is not None else None
        self.loss_cdp = MODELS.build(dict(loss_cdp)) if loss_cdp is not None else None

    # ------------------------------------------------------------------ segments
    @staticmethod
    def segment_keys(segments: Sequence[Tensor], num_ids: int) -> Tuple[Tensor, Tensor]:
        """Batch-wide keys ``sample * num_ids + id`` of the segmented points.

        Args:
            segments: per sample ``(N_i,)`` long ids, ``-1`` = ground / noise.
            num_ids: ids per sample (every id is below it).

        Returns:
            ``(P,)`` long flat index of each segmented point into the concatenated points and
            ``(P,)`` its key.
        """
        offsets, flat, keys = 0, [], []
        for i, seg in enumerate(segments):
            idx = torch.nonzero(seg >= 0).squeeze(1)
            flat.append(idx + offsets)
            keys.append(seg[idx] + i * num_ids)
            offsets += len(seg)
        return torch.cat(flat), torch.cat(keys)

    def segment_contrast(
        self, loss: torch.nn.Module, emb: Tensor, keys: Tensor, means: Tensor, present: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """One direction of a segment contrast.

        Args:
            loss: a :class:`~mmssl.models.losses.SegmentInfoNCELoss`.
            emb: ``(P, D)`` embeddings of the segmented points.
            keys: ``(P,)`` their segment keys.
            means: ``(S_total, D)`` segment means of the frame read from.
            present: ``(S_total,)`` bool: segments with a point in that frame.

        Returns:
            The loss and the share of the points whose segment is present.
        """
        rows = torch.full_like(present, -1, dtype=torch.long)
        rows[present] = torch.arange(int(present.sum()), device=present.device)
        target = rows[keys]
        hit = target >= 0
        share = hit.float().mean() if len(hit) else emb.new_zeros(())
        return loss(emb[hit], target[hit], means[present]), share

    def temporal_terms(self, inputs: dict, data_samples: List, emb: List[Tensor]) -> Dict[str, Tensor]:
        """``L_tmp`` and ``L_p2s`` (and their logged statistics) of the batch."""
        device = emb[0].device
        seg_t = _as_long(get_ssl_target(data_samples, 'point_segments'), device)
        seg_n: List[Tensor] = []
        points_n: List[Tensor] = []
        if self.loss_tmp is not None:
            seg_n = _as_long(get_ssl_target(data_samples, 'temporal_point_segments'), device)
            points_n = [
                torch.as_tensor(p, device=device) for p in get_ssl_target(data_samples, 'temporal_points')
            ]
        for i, (s, e) in enumerate(zip(seg_t, emb)):
            partner = (len(points_n[i]), len(seg_n[i])) if points_n else (0, 0)
            if len(s) != len(e) or partner[0] != partner[1]:
                sample = data_samples[i].metainfo.get('sample_idx', i)
                raise ValueError(
                    f'LargeAD: sample {sample}: point_segments has {len(s)} ids for {len(e)} points and '
                    f'temporal_point_segments {partner[1]} for {partner[0]} partner points; TemporalSegments '
                    'must run after every transform that drops points'
                )
        emb_n = self.embed_points(points_n, data_samples) if points_n else None
        num_ids = int(max([int(s.max()) for s in seg_t + seg_n if len(s)] + [-1])) + 1
        out: Dict[str, Tensor] = {}
        z_t = F.normalize(torch.cat(emb), dim=1)
        flat_t, keys_t = self.segment_keys(seg_t, max(num_ids, 1))
        total = len(emb) * max(num_ids, 1)
        means_t, count_t = segment_mean(z_t[flat_t], keys_t, total)
        out['segments_per_sample'] = (count_t > 0).sum().float() / len(emb)
        out['segmented_point_share'] = torch.tensor(len(flat_t) / max(len(z_t), 1), device=device)
        if self.loss_p2s is not None:
            out['loss_p2s'], _ = self.segment_contrast(
                self.loss_p2s, z_t[flat_t], keys_t, means_t, count_t > 0
            )
        if emb_n is not None:
            z_n = F.normalize(torch.cat(emb_n), dim=1)
            flat_n, keys_n = self.segment_keys(seg_n, max(num_ids, 1))
            means_n, count_n = segment_mean(z_n[flat_n], keys_n, total)
            fwd, share_t = self.segment_contrast(self.loss_tmp, z_t[flat_t], keys_t, means_n, count_n > 0)
            bwd, _ = self.segment_contrast(self.loss_tmp, z_n[flat_n], keys_n, means_t, count_t > 0)
            out['loss_tmp'] = (fwd + bwd) / 2
            out['temporal_match_share'] = share_t
        return out

    # ------------------------------------------------------------------ sources
    @staticmethod
    def source_index(data_samples: Sequence, device) -> Tensor:
        """``(B,)`` long source of each sample (``metainfo['source_index']``, 0 when absent)."""
        return torch.tensor([int(s.metainfo.get('source_index', 0)) for s in data_samples], device=device)

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """``L_vfm + L_tmp + L_p2s + L_cdp`` (module docstring)."""
        emb = self.student_embeddings(inputs, data_samples)
        k, q, row_sample, losses, link = self.superpixel_means(inputs, data_samples, emb)
        enough = len(k) >= 2
        losses['loss_vfm'] = self.loss_nce(k, q) if enough else link
        losses['contrast_acc'] = contrast_accuracy(k, q) if enough else k.new_zeros(())
        source = self.source_index(data_samples, k.device)
        losses['sources_per_batch'] = torch.unique(source).numel() * k.new_ones(())
        if self.loss_cdp is not None:
            losses['loss_cdp'] = self.loss_cdp(k, q, source[row_sample]) if enough else link
        if self.loss_tmp is not None or self.loss_p2s is not None:
            losses.update(self.temporal_terms(inputs, data_samples, emb))
        return losses
