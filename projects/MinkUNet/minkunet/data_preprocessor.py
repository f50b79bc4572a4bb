"""MMDet3D's ``Det3DDataPreprocessor`` with its ``voxel_type='minkunet'`` branch made device-agnostic.

MMDet3D 1.4.0's MinkUNet voxelisation (``Det3DDataPreprocessor.voxelize``, ``voxel_type='minkunet'``)
moves the unique-voxel indices and the point-to-voxel map to the GPU with ``.cuda()``, so it fails on
a machine without CUDA ("Found no NVIDIA driver") even though the rest of it is NumPy. This class
runs the same algorithm on the points' own device; every other voxel type, and images, go through
MMDet3D's code unchanged. The algorithm, as MMDet3D's:

1. voxel coordinates ``round(xyz / voxel_size)``, shifted so that their minimum is 0, per sample;
2. one voxel per distinct coordinate (MMDet3D's ``sparse_quantize``: ``np.unique`` of a ravelled hash),
   represented by its first point (the voxel's feature is that point's full feature vector);
3. in training, at most ``max_voxels`` voxels per sample (a uniform random subset, NumPy's global
   generator, as MMDet3D);
4. per sample: ``gt_pts_seg.voxel_semantic_mask`` (the label of each voxel's point, when a point
   mask exists), ``batch_idx`` of each voxel and ``point2voxel_map`` (each input point's voxel),
   which ``MinkUNetHead.predict`` uses to give every point its voxel's logits.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.structures.det3d_data_sample import SampleList
from torch import Tensor

from mmssl.registry import MODELS


@MODELS.register_module()
class MinkUNetDataPreprocessor(Det3DDataPreprocessor):
    """``Det3DDataPreprocessor`` whose ``voxel_type='minkunet'`` runs on any device.

    Same arguments as MMDet3D's; for MinkUNet ``voxel=True, voxel_type='minkunet'`` and
    ``voxel_layer=dict(voxel_size=[dx, dy, dz], ...)`` (only ``voxel_size`` is read by this branch;
    MMDet3D builds its ``VoxelizationByGridShape`` from the whole dict, so keep its other keys).
    """

    def voxelize(self, points: list[Tensor], data_samples: SampleList) -> dict[str, Tensor]:
        """Voxelise a batch; ``voxel_type='minkunet'`` here, every other type in MMDet3D.

        Args:
            points: Per sample ``(P_i, C)`` points (x, y, z first).
            data_samples: Per sample ``Det3DDataSample``; gets ``batch_idx`` ``(V_i,)``,
                ``point2voxel_map`` ``(P_i,)`` and, with a point mask,
                ``gt_pts_seg.voxel_semantic_mask`` ``(V_i,)``.

        Returns:
            ``dict(voxels=(V, C), coors=(V, 4))``: one point per voxel and its integer coordinate,
            ``(batch, x, y, z)`` with ``batch_first`` (else ``(x, y, z, batch)``).
        """
        if self.voxel_type != 'minkunet':
            return super().voxelize(points, data_samples)
        voxels, coors = [], []
        voxel_size = points[0].new_tensor(self.voxel_layer.voxel_size)
        for i, (res, data_sample) in enumerate(zip(points, data_samples)):
            res_coors = torch.round(res[:, :3] / voxel_size).int()
            res_coors -= res_coors.min(0)[0]
            inds, point2voxel_map = self.sparse_quantize(
                res_coors.cpu().numpy(), return_index=True, return_inverse=True
            )
            if self.training and self.max_voxels is not None and len(inds) > self.max_voxels:
                inds = np.random.choice(inds, self.max_voxels, replace=False)
            inds = torch.from_numpy(inds).to(res.device)
            gt = data_sample.get('gt_pts_seg')
            if gt is not None and 'pts_semantic_mask' in gt:
                gt.voxel_semantic_mask = gt.pts_semantic_mask[inds]
            res_voxel_coors = res_coors[inds]
            if self.batch_first:
                res_voxel_coors = F.pad(res_voxel_coors, (1, 0), mode='constant', value=i)
                data_sample.batch_idx = res_voxel_coors[:, 0]
            else:
                res_voxel_coors = F.pad(res_voxel_coors, (0, 1), mode='constant', value=i)
                data_sample.batch_idx = res_voxel_coors[:, -1]
            data_sample.point2voxel_map = torch.from_numpy(point2voxel_map.reshape(-1)).to(res.device).long()
            voxels.append(res[inds])
            coors.append(res_voxel_coors)
        return dict(voxels=torch.cat(voxels, dim=0), coors=torch.cat(coors, dim=0))
