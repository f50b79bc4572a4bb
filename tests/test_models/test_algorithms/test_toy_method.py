"""The toy method of docs/adding-a-method.md: a new method on the shared base is its loss wiring.

``ToyBEVOccupancyMAE`` masks 90% of the LiDAR voxels and predicts, from the masked cloud's LiDAR
BEV, which BEV cells the full cloud occupies. Everything else (encoders built like the detector's,
masking, the unmasked targets) comes from :class:`MultiModalSelfSupervisor`.
"""

import copy

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings
from torch import nn

from mmssl.geometry import bev_depth_height
from mmssl.models.algorithms import MultiModalSelfSupervisor
from mmssl.models.utils.pretrained_init import load_pretrained
from mmssl.registry import MODELS


@MODELS.register_module(force=True)
class ToyBEVOccupancyMAE(MultiModalSelfSupervisor):
    """Predict the full cloud's BEV occupancy from the masked cloud.

    Args:
        bev_channels: channels of the LiDAR BEV.
        point_cloud_range: extent of the BEV grid.
        cell_size: ``(dx, dy)`` of a BEV cell of the encoder output.
        **kwargs: encoders, maskers and slots of :class:`MultiModalSelfSupervisor`.
    """

    def __init__(self, bev_channels: int, point_cloud_range, cell_size, **kwargs) -> None:
        super().__init__(**kwargs)
        self.head = nn.Conv2d(bev_channels, 1, 1)
        self.point_cloud_range, self.cell_size = list(point_cloud_range), list(cell_size)

    def extract_feat(self, inputs, data_samples=None):
        return self.lidar_bev(inputs, len(data_samples))  # (B, C, Y, X)

    def loss(self, inputs, data_samples):
        masked = self.mask_inputs(inputs, data_samples)
        logits = self.head(self.extract_feat(masked.inputs, data_samples))[:, 0]
        points = self.render_context(inputs, data_samples, masked).points  # visible + masked
        occ = torch.stack([bev_depth_height(p, self.point_cloud_range, self.cell_size)[2] for p in points])
        acc = ((logits > 0) == occ).float().mean().detach()
        return {'loss_occ': F.binary_cross_entropy_with_logits(logits, occ.float()), 'occ_acc': acc}


PCR = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]  # the tiny detectors' range


def _toy_from_centerpoint_tiny():
    cfg = Config.fromfile('configs/nsmae/nsmae_centerpoint_tiny.py')
    enc = {k: cfg.model[k] for k in ('data_preprocessor', 'pts_voxel_encoder', 'pts_middle_encoder')}
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='ToyBEVOccupancyMAE',
            bev_channels=cfg.model.lidar_channels * 2,  # 32 channels x 2 z levels of the tiny encoder
            point_cloud_range=PCR,
            cell_size=[0.8, 0.8],  # 0.2 m voxels at stride 4: the 64 x 128 BEV
            lidar_masker=dict(
                type='VoxelMasker', point_cloud_range=PCR, voxel_size=[0.2, 0.2, 0.4], ratio=0.9
            ),
            **enc,
        )
    )


def test_toy_method_learns_and_its_encoders_fine_tune_centerpoint(nsmae_batch, tmp_path):
    model = _toy_from_centerpoint_tiny()
    assert not model.with_camera and model.with_lidar
    data = model.data_preprocessor(copy.deepcopy(nsmae_batch), training=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    hist = []
    for _ in range(30):
        opt.zero_grad()
        torch.manual_seed(1)  # same masks each step
        total, logs = model.parse_losses(model(**data, mode='loss'))
        total.backward()
        opt.step()
        hist.append(total.item())
    assert set(logs) == {'loss', 'loss_occ', 'occ_acc'}
    # the model learns where the occupied cells are: its accuracy beats the best constant
    # prediction (every cell empty: 1 - p) by a margin
    occ = torch.stack(
        [bev_depth_height(p[:, :3], PCR, [0.8, 0.8])[2] for p in data['inputs']['points']]
    ).float()
    p = float(occ.mean())
    assert hist[-1] < 0.8 * hist[0], hist  # measured: 0.733 -> 0.528 in 30 steps
    assert float(logs['occ_acc']) > max(p, 1 - p) + 0.05  # measured: 0.92 against 0.80
    # its checkpoint fine-tunes the detector: encoder keys load strictly with an identity map
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'toy.pth')
    det_cfg = Config.fromfile('projects/CenterPoint/configs/centerpoint_tiny_synthetic.py')
    import_modules_from_strings(**det_cfg.custom_imports)
    detector = MODELS.build(det_cfg.model)
    prefixes = ['pts_voxel_encoder.', 'pts_middle_encoder.']
    load_pretrained(detector, str(tmp_path / 'toy.pth'), {p: p for p in prefixes}, strict=True)
    w = 'pts_middle_encoder.conv_input.0.weight'
    assert torch.equal(detector.state_dict()[w], model.state_dict()[w])
