"""Lift-Splat-Shoot view transform: image features to a voxel volume and a BEV map.

Lift (Philion & Fidler, ECCV 2020, Sec. 4.1): a 1x1 convolution predicts, per feature pixel,
a categorical depth distribution over ``D`` bins and a context vector of ``C`` channels;
their outer product places the context along the pixel's ray. Splat (Sec. 4.2): the frustum
points are mapped to the (augmented) LiDAR frame and sum-pooled into voxels
(:func:`mmssl.ops.bev_pool`, the pure-PyTorch form of BEVFusion's BEV pooling, Liu et al.
2023 Sec. 3.2). BEVFusion's ``DepthLSSTransform`` option (``depth_input=True``) also feeds a
sparse LiDAR depth image, projected from the points, through a small convolutional encoder
and concatenates it to the image features before the depth/context prediction.

Shapes (``B`` batch, ``N`` cameras, ``D`` depth bins, ``fH x fW`` feature map,
``X x Y x Z`` voxel grid of ``xbound/ybound/zbound``):

* input features ``(B, N, C_in, fH, fW)``;
* frustum geometry ``(B, N, D, fH, fW, 3)`` x, y, z in the augmented LiDAR frame;
* volume ``(B, C, Z, Y, X)``; BEV ``(B, C * Z, Y', X')`` with ``Y' = Y / downsample``.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssl.ops import bev_pool, collapse_z, points_to_voxel_coords
from mmssl.registry import MODELS


def _lidar2img(mats: Union[Tensor, Dict[str, Tensor]]) -> Tensor:
    """Accept ``lidar2img`` ``(B, N, 4, 4)`` or the dict of ``camera_matrices_from_metas``."""
    return mats['lidar2img'] if isinstance(mats, dict) else mats


def _grid(bound: Sequence[float]) -> tuple:
    low, high, step = (float(b) for b in bound)
    return low, step, int(round((high - low) / step))


@MODELS.register_module()
class LSSViewTransform(BaseModule):
    """LSS depth-distribution view transform (optionally with LiDAR depth input).

    Args:
        in_channels: Channels of the image features.
        out_channels: ``C``, context channels lifted into the volume.
        image_size: ``(H, W)`` of the (augmented) input images.
        feature_size: ``(fH, fW)`` of the image features.
        xbound, ybound, zbound: ``(min, max, step)`` of the voxel grid in metres.
        dbound: ``(min, max, step)`` depth bins in metres (BEVFusion: ``(1, 60, 0.5)``, 118 bins).
        downsample: Stride of the BEV downsampling block after pooling (1 = none;
            BEVFusion uses 2 to go from 0.3 m cells to the LiDAR branch's 0.6 m).
        depth_input: Use a projected LiDAR depth image as extra input (BEVFusion's
            ``DepthLSSTransform``); ``forward`` then needs ``points``.
        depth_channels: Channels of the depth-image encoder output.
        reduce: ``'sum'`` (BEVFusion) or ``'mean'`` pooling of the frustum points per voxel.
        init_cfg: MMEngine init config.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        image_size: Sequence[int],
        feature_size: Sequence[int],
        xbound: Sequence[float],
        ybound: Sequence[float],
        zbound: Sequence[float],
        dbound: Sequence[float],
        downsample: int = 1,
        depth_input: bool = False,
        depth_channels: int = 64,
        reduce: str = 'sum',
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.image_size = tuple(int(v) for v in image_size)
        self.feature_size = tuple(int(v) for v in feature_size)
        self.out_channels = out_channels
        x0, dx, nx = _grid(xbound)
        y0, dy, ny = _grid(ybound)
        z0, dz, nz = _grid(zbound)
        self.grid_lower = (x0, y0, z0)
        self.voxel_size = (dx, dy, dz)
        self.grid_shape = (nx, ny, nz)
        self.reduce = reduce
        self.depth_input = depth_input
        self.register_buffer('frustum', self._create_frustum(dbound), persistent=False)
        self.num_depth = self.frustum.shape[0]
        extra = 0
        if depth_input:
            self.dtransform = nn.Sequential(
                nn.Conv2d(1, 8, 1),
                nn.BatchNorm2d(8),
                nn.ReLU(True),
                nn.Conv2d(8, 32, 5, stride=4, padding=2),
                nn.BatchNorm2d(32),
                nn.ReLU(True),
                nn.Conv2d(32, depth_channels, 5, stride=2, padding=2),
                nn.BatchNorm2d(depth_channels),
                nn.ReLU(True),
            )
            extra = depth_channels
        self.depthnet = nn.Conv2d(in_channels + extra, self.num_depth + out_channels, 1)
        if downsample > 1:
            c = out_channels * nz
            self.downsample = nn.Sequential(
                nn.Conv2d(c, c, 3, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(True),
                nn.Conv2d(c, c, 3, stride=downsample, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(True),
                nn.Conv2d(c, c, 3, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(True),
            )
        else:
            self.downsample = nn.Identity()

    def _create_frustum(self, dbound: Sequence[float]) -> Tensor:
        """Frustum ``(D, fH, fW, 3)``: pixel u, v of each feature cell's centre and bin depth.

        Feature cell ``(i, j)`` of an ``fH x fW`` map over an ``H x W`` image covers pixels
        ``[j W / fW, (j + 1) W / fW)``, so its centre is ``u = (j + 0.5) W / fW`` (BEVFusion
        uses ``linspace(0, W - 1, fW)``, which differs by under one pixel).
        """
        h, w = self.image_size
        fh, fw = self.feature_size
        ds = torch.arange(*[float(b) for b in dbound], dtype=torch.float32)
        d = ds.view(-1, 1, 1).expand(-1, fh, fw)
        xs = ((torch.arange(fw) + 0.5) * (w / fw)).view(1, 1, fw).expand(len(ds), fh, fw)
        ys = ((torch.arange(fh) + 0.5) * (h / fh)).view(1, fh, 1).expand(len(ds), fh, fw)
        return torch.stack((xs, ys, d), -1)

    @property
    def depth_bins(self) -> Tensor:
        """``(D,)`` depth of each bin in metres."""
        return self.frustum[:, 0, 0, 2]

    def get_geometry(self, lidar2img: Union[Tensor, Dict[str, Tensor]]) -> Tensor:
        """Augmented-LiDAR coordinates ``(B, N, D, fH, fW, 3)`` of the frustum points.

        ``p = inv(lidar2img) @ (u d, v d, d, 1)`` for each frustum cell's pixel ``(u, v)``
        and bin depth ``d``; ``lidar2img`` ``(B, N, 4, 4)`` maps augmented points to
        augmented pixels (see :mod:`mmssl.geometry.metas`). The inverse is taken
        in float64: intrinsics of ~1e3 make the float32 inverse lose centimetres.
        """
        lidar2img = _lidar2img(lidar2img)
        f = self.frustum  # (D, fH, fW, 3)
        d = f[..., 2:3]
        cam = torch.cat([f[..., :2] * d, d, torch.ones_like(d)], -1)  # (D, fH, fW, 4)
        img2lidar = torch.inverse(lidar2img.double()).to(lidar2img.dtype)
        pts = torch.einsum('bnij,dhwj->bndhwi', img2lidar, cam)
        return pts[..., :3]

    def project_depth(self, points: List[Tensor], lidar2img: Union[Tensor, Dict[str, Tensor]]) -> Tensor:
        """Sparse depth image ``(B, N, 1, H, W)`` (metres, 0 = no point) of the points.

        A point at continuous pixel ``(u, v)`` fills pixel ``(floor(v), floor(u))``; where
        several points fall into one pixel the nearest is kept.

        Args:
            points: Per sample ``(P, >=3)`` points in the augmented LiDAR frame.
            lidar2img: ``(B, N, 4, 4)`` (or the dict of ``camera_matrices_from_metas``).
        """
        lidar2img = _lidar2img(lidar2img)
        h, w = self.image_size
        b, n = lidar2img.shape[:2]
        depth = lidar2img.new_zeros((b, n, h * w))
        for i, pts in enumerate(points):
            xyz1 = torch.cat([pts[:, :3], pts.new_ones((pts.shape[0], 1))], 1)
            cam = torch.einsum('nij,pj->npi', lidar2img[i], xyz1)  # (N, P, 4)
            d = cam[..., 2]
            uv = cam[..., :2] / d.clamp(min=1e-5).unsqueeze(-1)
            u, v = uv[..., 0].floor().long(), uv[..., 1].floor().long()
            ok = (d > 1e-3) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
            cam_id = torch.arange(n, device=d.device).view(n, 1).expand_as(d)
            flat = (cam_id * h * w + v * w + u)[ok]
            nearest = torch.full((n * h * w,), float('inf'), device=d.device, dtype=d.dtype)
            nearest = nearest.scatter_reduce(0, flat, d[ok], reduce='amin')
            depth[i] = torch.where(torch.isinf(nearest), torch.zeros_like(nearest), nearest).view(n, h * w)
        return depth.view(b, n, 1, h, w)

    def get_cam_feats(self, img_feats: Tensor, depth_img: Tensor | None = None) -> tuple:
        """Depth distribution ``(B, N, D, fH, fW)`` and lifted features ``(B, N, D, fH, fW, C)``."""
        b, n, c, fh, fw = img_feats.shape
        x = img_feats.view(b * n, c, fh, fw)
        if self.depth_input:
            if depth_img is None:
                raise ValueError('LSSViewTransform(depth_input=True) needs points')
            d = self.dtransform(depth_img.view(b * n, 1, *depth_img.shape[-2:]))
            if d.shape[-2:] != (fh, fw):
                d = nn.functional.adaptive_max_pool2d(d, (fh, fw))
            x = torch.cat([x, d], 1)
        x = self.depthnet(x)
        depth = x[:, : self.num_depth].softmax(dim=1)
        ctx = x[:, self.num_depth :]
        lifted = depth.unsqueeze(1) * ctx.unsqueeze(2)  # (BN, C, D, fH, fW)
        lifted = lifted.view(b, n, self.out_channels, self.num_depth, fh, fw)
        return depth.view(b, n, self.num_depth, fh, fw), lifted.permute(0, 1, 3, 4, 5, 2)

    def forward_volume(
        self,
        img_feats: Tensor,
        lidar2img: Union[Tensor, Dict[str, Tensor]],
        points: List[Tensor] | None = None,
        zbound: Sequence[float] | None = None,
    ) -> Dict[str, Tensor]:
        """Lift and splat into the 3D volume, before collapsing z.

        Args:
            img_feats: ``(B, N, C_in, fH, fW)`` image features.
            lidar2img: ``(B, N, 4, 4)`` augmented LiDAR-to-pixel matrices
                (:func:`mmssl.geometry.lidar2img_batch`).
            points: Per-sample ``(P, >=3)`` points; required when ``depth_input``.
            zbound: Optional ``(z_min, z_max, step)`` pooling grid along z instead of the
                configured ``zbound`` (e.g. a render volume's z levels); x and y stay as built.

        Returns:
            ``volume`` ``(B, C, Z, Y, X)``, ``depth`` ``(B, N, D, fH, fW)`` (softmax
            probabilities), ``geometry`` ``(B, N, D, fH, fW, 3)`` and, with depth input,
            ``depth_img`` ``(B, N, 1, H, W)``.
        """
        if img_feats.shape[-2:] != self.feature_size:
            raise ValueError(
                f'image features are {tuple(img_feats.shape[-2:])}, the view transform was '
                f'built for feature_size={self.feature_size}'
            )
        out: Dict[str, Tensor] = {}
        depth_img = None
        if self.depth_input:
            if points is None:
                raise ValueError('LSSViewTransform(depth_input=True) needs points')
            depth_img = self.project_depth(points, lidar2img)
            out['depth_img'] = depth_img
        depth, lifted = self.get_cam_feats(img_feats, depth_img)
        geom = self.get_geometry(lidar2img)
        b = img_feats.shape[0]
        lower, size, shape = self.grid_lower, self.voxel_size, self.grid_shape
        if zbound is not None:
            z0, dz, nz = _grid(zbound)
            lower, size, shape = (*lower[:2], z0), (*size[:2], dz), (*shape[:2], nz)
        coords, inside = points_to_voxel_coords(geom, lower, size, shape)
        batch_idx = torch.arange(b, device=geom.device).view(b, 1, 1, 1, 1).expand(inside.shape)
        keep = inside.reshape(-1)
        coords = torch.cat([batch_idx.reshape(-1, 1), coords.reshape(-1, 3)], 1)[keep]
        feats = lifted.reshape(-1, self.out_channels)[keep]
        out['volume'] = bev_pool(feats, coords, b, shape, reduce=self.reduce)
        out['depth'] = depth
        out['geometry'] = geom
        return out

    def downsample_volume(self, volume: Tensor) -> Tensor:
        """Apply the BEV downsampling block to every z slice of a volume.

        The block is built for the ``C * Z`` channels of the configured grid, so this needs a
        grid with one z bin (BEVFusion's ``zbound`` has one) unless the block is the identity.

        Args:
            volume: ``(B, C, Z', Y, X)`` from :meth:`forward_volume` (any ``Z'``).

        Returns:
            ``(B, C, Z', Y / downsample, X / downsample)``.
        """
        if isinstance(self.downsample, nn.Identity):
            return volume
        if self.grid_shape[2] != 1:
            raise ValueError(
                'LSSViewTransform.downsample_volume applies the BEV downsampling per z slice; it '
                f'needs zbound with 1 bin, got {self.grid_shape[2]}'
            )
        b, c, z = volume.shape[:3]
        slices = self.downsample(volume.transpose(1, 2).flatten(0, 1))  # (B Z, C, Y', X')
        return slices.view(b, z, c, *slices.shape[-2:]).transpose(1, 2)

    def forward(
        self,
        img_feats: Tensor,
        lidar2img: Union[Tensor, Dict[str, Tensor]],
        points: List[Tensor] | None = None,
    ) -> Tensor:
        """Camera BEV features ``(B, C * Z, Y / downsample, X / downsample)``."""
        volume = self.forward_volume(img_feats, lidar2img, points)['volume']
        return self.downsample(collapse_z(volume))
