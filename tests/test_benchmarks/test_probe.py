"""The feature probe's pieces on known answers: box rasterisation, linear probe, spectrum."""

import math

import pytest
import torch

from mmssl.benchmarks.probe import (
    BEVGrid,
    covariance_spectrum,
    embedding_spectrum,
    fit_linear_probe,
    occupied_cells,
    plot_spectra,
    probe_metrics,
    rasterise_boxes,
)

# 10 x 10 cells of 1 m over [0, 10] x [0, 10]; cell [iy, ix] has its centre at (ix + 0.5, iy + 0.5).
GRID = BEVGrid(0.0, 0.0, 10.0, 10.0, ny=10, nx=10)


def _box(x, y, length, width, yaw=0.0):
    return [x, y, 0.0, length, width, 1.5, yaw]


def test_rasterise_footprint_small_boxes_and_priority():
    boxes = torch.tensor(
        [
            _box(2.0, 5.5, 3.2, 0.8),  # x in [0.4, 3.6], y in [5.1, 5.9]: centres of row 5, columns 0-3
            _box(7.2, 7.7, 0.4, 0.4),  # a cone: covers no centre, marks the cell of its own centre
            _box(8.5, 2.5, 3.8, 3.8),  # a bus over rows 1-3, columns 7-9, with a pedestrian inside
            _box(8.5, 2.5, 0.6, 0.6),
            _box(5.0, 8.0, 1.0, 1.0),  # label -1: ignored
        ]
    )
    labels = torch.tensor([0, 8, 3, 7, -1])
    t = rasterise_boxes(boxes, labels, GRID, num_classes=10)
    assert t.shape == (10, 10) and t.dtype == torch.long
    assert {(int(i), int(j)) for i, j in (t == 0).nonzero()} == {(5, 0), (5, 1), (5, 2), (5, 3)}
    assert t[7, 7] == 8 and int((t == 8).sum()) == 1
    assert t[2, 8] == 7 and int((t == 7).sum()) == 1  # the smaller box wins inside the bus
    assert {(int(i), int(j)) for i, j in (t == 3).nonzero()} == {
        (i, j) for i in (1, 2, 3) for j in (7, 8, 9)
    } - {(2, 8)}
    assert int((t == 10).sum()) == 100 - 4 - 1 - 1 - 8


def test_rasterise_rotation():
    # 3.8 m x 0.8 m turned 90 deg at (5.5, 5.5): along y over [3.6, 7.4], x in [5.1, 5.9].
    t = rasterise_boxes(torch.tensor([_box(5.5, 5.5, 3.8, 0.8, math.pi / 2)]), torch.tensor([1]), GRID, 10)
    assert {(int(i), int(j)) for i, j in (t == 1).nonzero()} == {(4, 5), (5, 5), (6, 5)}
    with pytest.raises(ValueError, match='outside'):
        rasterise_boxes(torch.tensor([_box(5, 5, 1, 1)]), torch.tensor([10]), GRID, 10)


def test_occupied_cells():
    pts = torch.tensor([[0.1, 0.1, 0.0], [9.9, 0.2, 1.0], [11.0, 5.0, 0.0], [-0.1, 3.0, 0.0]])
    occ = occupied_cells(pts, GRID)
    assert occ.sum() == 2 and occ[0, 0] and occ[0, 9]


def _frames(num_frames, feature_fn, seed=0):
    """Random box layouts on GRID and per-cell features from the class map."""
    g = torch.Generator().manual_seed(seed)
    feats, labels = [], []
    for _ in range(num_frames):
        n = 6
        xy = torch.rand(n, 2, generator=g) * 10
        boxes = torch.cat(
            [xy, torch.zeros(n, 1), torch.full((n, 2), 2.0), torch.ones(n, 1), torch.zeros(n, 1)], 1
        )
        target = rasterise_boxes(boxes, torch.randint(0, 3, (n,), generator=g), GRID, num_classes=3).flatten()
        feats.append(feature_fn(target, g))
        labels.append(target)
    return torch.cat(feats), torch.cat(labels)


def test_linear_probe_separable_features_give_iou_one():
    """One-hot class features plus small noise (linearly separable): IoU 100% for every class."""

    def one_hot(target, g):
        return torch.nn.functional.one_hot(target, 4).float() * 3 + 0.1 * torch.randn(
            len(target), 4, generator=g
        )

    xtr, ytr = _frames(8, one_hot, seed=0)
    xva, yva = _frames(4, one_hot, seed=1)
    probe = fit_linear_probe(xtr, ytr, num_classes=3)
    m = probe_metrics(probe.predict(xva), yva, 3, ['car', 'truck', 'bus'])
    assert m['occupancy_IoU'] == pytest.approx(100.0) and m['mIoU'] == pytest.approx(100.0)
    assert m['accuracy'] == pytest.approx(100.0) and m['balanced_accuracy'] == pytest.approx(100.0)
    assert set(m['per_class_IoU']) == {'car', 'truck', 'bus'} and m['cells'] == 400


def test_linear_probe_random_features_score_low():
    def noise(target, g):
        return torch.randn(len(target), 8, generator=g)

    xtr, ytr = _frames(8, noise, seed=0)
    xva, yva = _frames(4, noise, seed=1)
    m = probe_metrics(fit_linear_probe(xtr, ytr, 3).predict(xva), yva, 3)
    assert m['mIoU'] < 15.0 and m['balanced_accuracy'] < 40.0  # chance: 25% balanced accuracy


def test_probe_metrics_by_hand():
    # bg = 2. target: [0, 0, 1, 2, 2]; pred: [0, 1, 1, 2, 0]
    m = probe_metrics(torch.tensor([0, 1, 1, 2, 0]), torch.tensor([0, 0, 1, 2, 2]), 2, ['a', 'b'])
    assert m['per_class_IoU'] == pytest.approx({'a': 100 / 3, 'b': 50.0})  # a: 1/(1+1+1), b: 1/2
    assert m['mIoU'] == pytest.approx((100 / 3 + 50) / 2)
    assert m['occupancy_IoU'] == pytest.approx(75.0)  # fg pred {0,1,2,4}, fg target {0,1,2}: 3/4
    assert m['accuracy'] == pytest.approx(60.0)
    assert m['balanced_accuracy'] == pytest.approx(100 * (0.5 + 1.0 + 0.5) / 3)


def test_spectrum_of_known_covariances():
    s = covariance_spectrum(torch.diag(torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0])))
    assert s['effective_rank'] == pytest.approx(4.0) and s['dim'] == 8
    assert s['auc'] == pytest.approx((0.25 + 0.5 + 0.75 + 1 + 4) / 8)
    iso = covariance_spectrum(torch.eye(16) * 3.0)
    assert iso['effective_rank'] == pytest.approx(16.0) and iso['auc'] == pytest.approx(17 / 32)
    two = covariance_spectrum(torch.diag(torch.tensor([1.0, 4.0])))
    assert two['explained_ratio'] == pytest.approx([0.8, 0.2])
    assert two['effective_rank'] == pytest.approx(math.exp(-(0.8 * math.log(0.8) + 0.2 * math.log(0.2))))
    assert two['auc'] == pytest.approx(0.9)
    # rotation does not change the spectrum
    q, _ = torch.linalg.qr(torch.randn(2, 2, generator=torch.Generator().manual_seed(0)))
    rot = covariance_spectrum(q @ torch.diag(torch.tensor([1.0, 4.0])) @ q.T)
    assert rot['effective_rank'] == pytest.approx(two['effective_rank'], rel=1e-6)
    with pytest.raises(ValueError, match='no variance'):
        covariance_spectrum(torch.zeros(3, 3))


def test_embedding_spectrum_of_samples_and_plot(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 4, generator=g) * torch.tensor([2.0, 1.0, 1.0, 0.0]) + 5.0  # mean is removed
    s = embedding_spectrum(x)
    assert s['samples'] == 20000
    assert s['explained_ratio'] == pytest.approx([4 / 6, 1 / 6, 1 / 6, 0.0], abs=0.01)
    plot_spectra({'a': s, 'iso': covariance_spectrum(torch.eye(4))}, tmp_path / 's.png')
    assert (tmp_path / 's.png').read_bytes()[:4] == b'\x89PNG'


def test_standardized_spectrum_separates_scale_from_collapse():
    g = torch.Generator().manual_seed(0)
    n = 20000
    # independent channels, one 30x larger: the covariance spectrum looks collapsed, the
    # correlation spectrum does not
    scaled = torch.randn(n, 4, generator=g) * torch.tensor([30.0, 1.0, 1.0, 1.0])
    cov = embedding_spectrum(scaled)
    assert cov['effective_rank'] < 1.1
    assert cov['channel_variance_share'] == pytest.approx([900 / 903, 1 / 903, 1 / 903, 1 / 903], rel=0.05)
    corr = embedding_spectrum(scaled, standardize=True)
    assert corr['effective_rank'] == pytest.approx(4.0, abs=0.05)
    # channels that are copies of one signal stay collapsed after scaling; a constant one is dropped
    z = torch.randn(n, 1, generator=g)
    copies = torch.cat([z * 3, z, -2 * z, torch.full((n, 1), 7.0)], 1)
    corr = embedding_spectrum(copies, standardize=True)
    assert corr['dim'] == 3
    assert corr['effective_rank'] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match='no variance'):
        embedding_spectrum(torch.ones(5, 3), standardize=True)


def test_grid_range_follows_the_probed_modules():
    from mmengine.config import Config

    from mmssl.benchmarks.feature_probe import grid_range_of

    fusion = Config.fromfile(
        'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py', import_custom_modules=False
    )
    road = [-25.6, -51.2, 25.6, 51.2]  # the tiny detectors' rectangle
    assert grid_range_of(fusion, ['view_transform', 'pts_middle_encoder']) == road
    bevdet = Config.fromfile('projects/BEVDet/configs/bevdet_tiny_synthetic.py', import_custom_modules=False)
    assert grid_range_of(bevdet, ['view_transform']) == road
    assert grid_range_of(bevdet, ['extract_feat']) == road
    bevdet.point_cloud_range = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
    with pytest.raises(ValueError, match='different BEV ranges'):
        grid_range_of(bevdet, ['view_transform', 'img_neck'])
