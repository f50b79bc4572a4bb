"""MMDet3D's ``Det3DDataPreprocessor`` with the device-independent voxeliser of mmssl.ops."""

from __future__ import annotations

from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor

from mmssl.ops import Voxelization
from mmssl.registry import MODELS


@MODELS.register_module()
class TorchVoxelDataPreprocessor(Det3DDataPreprocessor):
    """``Det3DDataPreprocessor`` whose ``voxel_layer`` is :class:`mmssl.ops.Voxelization`.

    Takes the same arguments as MMDet3D's preprocessor. With ``voxel=True`` and
    ``voxel_type`` ``'hard'`` or ``'dynamic'``, the voxel layer is the pure-PyTorch
    implementation (same result as mmcv's CPU op, on any device), so no mmcv/CUDA kernel is
    needed. ``voxel_layer`` takes ``voxel_size``, ``point_cloud_range``, ``max_num_points``
    and ``max_voxels`` (an int or ``(train, test)``); ``max_num_points=-1`` is dynamic.

    Output (``voxel_type='hard'``): ``inputs['voxels']`` with ``voxels`` ``(M, P, C)``,
    ``coors`` ``(M, 4)`` int32 ``(batch, z, y, x)``, ``num_points`` ``(M,)`` and
    ``voxel_centers`` ``(M, 3)``; plus ``inputs['imgs']`` ``(B, N, 3, H, W)`` for
    multi-view images and ``inputs['points']`` (list of ``(N_i, C)``).
    """

    def __init__(
        self, voxel: bool = False, voxel_type: str = 'hard', voxel_layer: dict | None = None, **kwargs
    ) -> None:
        super().__init__(voxel=voxel, voxel_type=voxel_type, voxel_layer=voxel_layer, **kwargs)
        if voxel and voxel_type in ('hard', 'dynamic'):
            self.voxel_layer = Voxelization(**dict(voxel_layer))
