"""Occupancy-MAE and BEV-MAE on the tiny CenterPoint encoders: inputs, targets, gradients, hand-off."""

import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from mmssl.geometry import occupancy_grid
from mmssl.models.algorithms import pillar_targets
from mmssl.models.utils import load_pretrained
from mmssl.registry import MODELS
from mmssl.testing.synthetic_batch import build_from_config, check_loss_and_gradients, synthetic_lidar_batch

OCC = 'configs/occmae/occmae_centerpoint_tiny.py'
BEV = 'configs/bevmae/bevmae_centerpoint_tiny.py'
PCR = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]


@pytest.fixture(scope='module')
def lidar_batch():
    return synthetic_lidar_batch(batch_size=2, seed=1)


def _model(config):
    torch.manual_seed(0)
    return build_from_config(config)[0]


@pytest.mark.parametrize('config', [OCC, BEV])
def test_loss_gradients_and_hand_off(config, lidar_batch, tmp_path):
    model = _model(config)
    logs = check_loss_and_gradients(model, copy.deepcopy(lidar_batch))
    assert all(torch.isfinite(v) for v in logs.values())
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'ckpt.pth')
    det_cfg = Config.fromfile(Config.fromfile(config).downstream_config)
    import_modules_from_strings(**det_cfg.custom_imports)
    detector = MODELS.build(det_cfg.model)
    load_pretrained(detector, str(tmp_path / 'ckpt.pth'), det_cfg.model.init_from.prefix_map, strict=True)
    w = 'pts_middle_encoder.conv_input.0.weight'
    assert torch.equal(detector.state_dict()[w], model.state_dict()[w])


def test_occupancy_mae_encodes_visible_voxels_and_targets_all(lidar_batch):
    model = _model(OCC)
    m = model.lidar_masker
    assert (m.mode, m.range_distance, m.range_band_edges, m.range_ratios) == (
        'range_aware',
        'sensor',
        (30.0, 50.0),
        (0.9, 0.7, 0.7),
    )
    seen, targets = [], []
    lidar_volume, occupancy_target = model.lidar_volume, model.occupancy_target
    model.lidar_volume = lambda inputs, b, c: (
        seen.append(inputs['voxels']['coors']) or lidar_volume(inputs, b, c)
    )
    model.occupancy_target = lambda pts: targets.append(occupancy_target(pts)) or targets[-1]
    data = model.data_preprocessor(copy.deepcopy(lidar_batch), True)
    torch.manual_seed(3)
    masked = model.mask_inputs(data['inputs'], data['data_samples'])
    torch.manual_seed(3)
    model(**data, mode='loss')
    (coors,) = seen
    for b, res in enumerate(masked.lidar_masks):
        enc = coors[coors[:, 0] == b]
        occ = torch.zeros(20, 512, 256, dtype=torch.bool)
        occ[enc[:, 1], enc[:, 2], enc[:, 3]] = True
        assert not occ[res.masked_voxels[:, 0], res.masked_voxels[:, 1], res.masked_voxels[:, 2]].any()
        full = occupancy_grid(data['inputs']['points'][b][:, :3], PCR, [0.2, 0.2, 0.4])
        assert torch.equal(targets[0][b], full)  # the target: visible and masked voxels
        assert full[res.masked_voxels[:, 0], res.masked_voxels[:, 1], res.masked_voxels[:, 2]].all()


def _reference_pillars(points, cells, cell, z_scale):
    """Loop reference: per cell, the normalised points of its pillar."""
    out = []
    for y, x in cells.tolist():
        rows = []
        for p in points.tolist():
            cx, cy = int((p[0] - PCR[0]) // cell), int((p[1] - PCR[1]) // cell)
            if (cy, cx) == (y, x) and PCR[2] <= p[2] < PCR[5]:
                rows.append(
                    (
                        (p[0] - (PCR[0] + (x + 0.5) * cell)) / cell,
                        (p[1] - (PCR[1] + (y + 0.5) * cell)) / cell,
                        p[2] / z_scale,
                    )
                )
        out.append(sorted(rows))
    return out


def test_bev_mae_point_targets_equal_a_reference_loop(lidar_batch):
    points = lidar_batch['inputs']['points'][0][:600]
    occupied = torch.unique(((points[:, [1, 0]] - torch.tensor([PCR[1], PCR[0]])) // 0.8).long(), dim=0)
    cells = occupied[torch.randperm(len(occupied), generator=torch.Generator().manual_seed(0))[:40]]
    targets, valid = pillar_targets(points, cells, PCR, [0.8, 0.8], 1000, 8.0)
    ref = _reference_pillars(points, cells, 0.8, 8.0)
    for i, rows in enumerate(ref):
        got = sorted(map(tuple, targets[i][valid[i]].tolist()))
        assert len(got) == len(rows) and torch.allclose(torch.tensor(got), torch.tensor(rows), atol=1e-5)
    # capped: min(n, 3) points per pillar, each one of the pillar's points
    few, few_valid = pillar_targets(points, cells, PCR, [0.8, 0.8], 3, 8.0, torch.Generator().manual_seed(1))
    for i, rows in enumerate(ref):
        assert int(few_valid[i].sum()) == min(len(rows), 3)
        for row in few[i][few_valid[i]].tolist():
            assert any(torch.allclose(torch.tensor(row), torch.tensor(r), atol=1e-5) for r in rows)


def test_bev_mae_keeps_masked_voxels_with_the_token_and_density_target(lidar_batch):
    model = _model(BEV)
    assert (model.lidar_masker.ratio_nonempty, model.lidar_masker.ratio_empty) == (0.7, 0.0)
    assert model.stride == 4 and model.decoder.num_points == 20 and model.max_target_points == 20
    with torch.no_grad():
        model.point_token.fill_(7.0)
    seen = []
    sparse_bev = model.lidar_sparse_bev
    model.lidar_sparse_bev = lambda f, c, b: seen.append((f.clone(), c.clone())) or sparse_bev(f, c, b)
    data = model.data_preprocessor(copy.deepcopy(lidar_batch), True)
    model(**data, mode='loss')
    (feats, coors), voxels = seen[0], data['inputs']['voxels']
    assert torch.equal(coors, voxels['coors'])  # every voxel keeps its coordinates
    token = (feats == 7.0).all(dim=1)
    assert 0 < int(token.sum()) < len(token)
    # the masked cells hold 70% of the non-empty cells, per sample
    for b in range(2):
        cells = torch.unique(coors[(coors[:, 0] == b)][:, 2:] // 4, dim=0)
        hit = torch.unique(coors[(coors[:, 0] == b) & token][:, 2:] // 4, dim=0)
        assert abs(len(hit) - 0.7 * len(cells)) <= 1
    # density target: the loop over voxels
    cells = torch.zeros(2, 128, 64, dtype=torch.bool)
    cells[coors[token, 0], coors[token, 2] // 4, coors[token, 3] // 4] = True
    density = model.density_target(voxels, cells)
    ref = torch.zeros(2, 128, 64)
    for (b, _, y, x), n in zip(coors.tolist(), voxels['num_points'].tolist()):
        ref[b, y // 4, x // 4] += n / 16
    torch.testing.assert_close(density, ref)
