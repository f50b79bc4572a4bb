"""Registered maskers: one vocabulary and one implementation for the pipeline and the model."""

import copy

import pytest
import torch
from mmdet3d.structures.points import LiDARPoints

from mmssl.registry import MODELS, TRANSFORMS

PCR = [-20.0, -20.0, -3.0, 20.0, 20.0, 3.0]


def _cloud(n=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    xyz = (torch.rand(n, 3, generator=g) * 2 - 1) * torch.tensor([25.0, 25.0, 3.5])
    return torch.cat([xyz, torch.rand(n, 2, generator=g)], 1)


@pytest.mark.parametrize('mode', ['random', 'range_aware'])
def test_pipeline_transform_equals_model_masker(mode):
    args = dict(
        point_cloud_range=PCR,
        voxel_size=[0.5, 0.5, 0.5],
        ratio=0.8,
        mode=mode,
        range_band_edges=(10.0,),
        range_ratios=(0.9, 0.5),
    )
    masker = MODELS.build(dict(type='VoxelMasker', **args))
    transform = TRANSFORMS.build(dict(type='LidarVoxelMask', seed=3, **args))
    pts = _cloud()
    out = transform(dict(points=LiDARPoints(pts.clone(), points_dim=5)))
    ref = masker(pts.clone(), torch.Generator().manual_seed(3))
    assert torch.equal(out['masked_points'], ref.masked)
    assert torch.equal(out['points'].tensor, ref.visible)
    assert torch.equal(out['masked_voxel_coords'], ref.masked_voxels)
    # outside the range nothing is masked; inside, the ratio is exact
    outside = ~((pts[:, :3] >= torch.tensor(PCR[:3])) & (pts[:, :3] < torch.tensor(PCR[3:]))).all(1)
    assert not ref.point_mask[outside].any()
    n_vox = len(ref.masked_voxels) + len(ref.visible_voxels)
    if mode == 'random':
        assert len(ref.masked_voxels) == round(0.8 * n_vox)


def test_voxel_masker_rejects_unknown_mode():
    with pytest.raises(ValueError, match='mode'):
        MODELS.build(dict(type='VoxelMasker', point_cloud_range=PCR, voxel_size=[1, 1, 1], mode='blocks'))


def test_image_masker_pipeline_equivalence_token_and_zero_fill():
    learn = MODELS.build(dict(type='ImagePatchMasker', patch_size=4, ratio=0.25))
    zero = MODELS.build(dict(type='ImagePatchMasker', patch_size=4, ratio=0.25, learnable_token=False))
    assert [n for n, _ in learn.named_parameters()] == ['mask_token'] and not list(zero.parameters())
    transform = TRANSFORMS.build(dict(type='ImagePatchMask', patch_size=4, ratio=0.25, seed=7))
    res = transform(dict(img=[None] * 3, img_shape=(16, 24)))
    mask = learn.generate(3, (16, 24), torch.Generator().manual_seed(7))
    assert torch.equal(res['img_patch_mask'], mask)
    assert (mask.flatten(1).sum(1) == round(0.25 * 24)).all()
    imgs = torch.randn(1, 3, 3, 16, 24)
    with torch.no_grad():
        learn.mask_token.fill_(5.0)
    pix = mask[None].repeat_interleave(4, 2).repeat_interleave(4, 3).unsqueeze(2).expand_as(imgs)
    a, b = learn(imgs, mask[None]), zero(imgs, mask[None])
    assert (a[pix] == 5.0).all() and (b[pix] == 0).all()
    assert torch.equal(a[~pix], imgs[~pix]) and torch.equal(b[~pix], imgs[~pix])
    shared = MODELS.build(dict(type='ImagePatchMasker', patch_size=4, ratio=0.5, shared=True))
    batch = shared.generate_batch(2, 3, (16, 24))
    assert (batch == batch[0, 0]).all()


def test_bev_guided_masker_matches_transform():
    args = dict(point_cloud_range=PCR, bev_cell_size=[2.0, 2.0], ratio_nonempty=0.5, ratio_empty=0.25)
    pts = _cloud(seed=1)
    out = TRANSFORMS.build(dict(type='BEVGuidedMask', seed=4, **args))(
        dict(points=LiDARPoints(pts.clone(), 5))
    )
    ref = MODELS.build(dict(type='BEVGuidedMasker', **args))(
        copy.deepcopy(pts), torch.Generator().manual_seed(4)
    )
    assert torch.equal(out['bev_mask_nonempty'], ref.mask_nonempty)
    assert torch.equal(out['masked_points'], ref.masked)
    assert int(ref.mask_empty.sum()) == round(0.25 * int((~ref.nonempty).sum()))


def _sparse_cloud(seed=0):
    """Points in a few hundred of the 400 cells of 2 m: both empty and non-empty cells."""
    g = torch.Generator().manual_seed(seed)
    xy = (torch.rand(600, 2, generator=g) * 2 - 1) * 14.0
    return torch.cat([xy, torch.rand(600, 1, generator=g), torch.rand(600, 2, generator=g)], 1)


@pytest.mark.parametrize('ratios', [(0.5, 0.5), (0.7, 0.0), (0.25, 0.75)])
def test_bev_guided_masker_exact_ratios_and_point_split(ratios):
    masker = MODELS.build(
        dict(
            type='BEVGuidedMasker',
            point_cloud_range=PCR,
            bev_cell_size=[2.0, 2.0],
            ratio_nonempty=ratios[0],
            ratio_empty=ratios[1],
        )
    )
    outs = masker.forward_batch([_sparse_cloud(0), _sparse_cloud(1)], torch.Generator().manual_seed(0))
    for pts, out in zip([_sparse_cloud(0), _sparse_cloud(1)], outs):
        n_ne, n_e = int(out.nonempty.sum()), int((~out.nonempty).sum())
        assert 0 < n_ne and 0 < n_e and out.nonempty.shape == (20, 20)
        assert int(out.mask_nonempty.sum()) == round(ratios[0] * n_ne)
        assert int(out.mask_empty.sum()) == round(ratios[1] * n_e)
        assert not (out.mask_nonempty & ~out.nonempty).any() and not (out.mask_empty & out.nonempty).any()
        # every point of a masked non-empty cell is masked, no other point is
        cell = ((pts[:, [1, 0]] + 20.0) // 2.0).long()
        in_masked_cell = out.mask_nonempty[cell[:, 0], cell[:, 1]]
        assert torch.equal(out.point_mask, in_masked_cell)
        assert out.visible.shape[0] + out.masked.shape[0] == pts.shape[0]


def test_bev_guided_masker_official_options():
    args = dict(point_cloud_range=PCR, bev_cell_size=[2.0, 2.0], ratio_nonempty=0.5, ratio_empty=0.5)
    clouds = [_sparse_cloud(0), _sparse_cloud(1)]
    batch = MODELS.build(dict(type='BEVGuidedMasker', nonempty_scope='batch', **args))
    outs = batch.forward_batch(clouds, torch.Generator().manual_seed(3))
    total = sum(int(o.nonempty.sum()) for o in outs)
    assert sum(int(o.mask_nonempty.sum()) for o in outs) == round(0.5 * total)  # over the batch
    bern = MODELS.build(dict(type='BEVGuidedMasker', empty_sampling='bernoulli', **args))
    counts = [int(bern(clouds[0], torch.Generator().manual_seed(s)).mask_empty.sum()) for s in range(8)]
    n_empty = int((~bern(clouds[0]).nonempty).sum())
    assert len(set(counts)) > 1 and abs(sum(counts) / 8 / n_empty - 0.5) < 0.1  # a Bernoulli draw
    with pytest.raises(ValueError, match='nonempty_scope'):
        MODELS.build(dict(type='BEVGuidedMasker', nonempty_scope='scene', **args))


def test_range_aware_bands_in_metres_from_the_sensor():
    """Occupancy-MAE: a hand-made cloud with 10 voxels at 5 m, 10 at 40 m and 10 at 60 m from the
    sensor; ratios 1 / 0 / 0.5 per band; the official index distances put all in the last band."""
    pcr = [-70.0, -70.0, -3.0, 70.0, 70.0, 3.0]
    angles = torch.linspace(0, 3.0, 10)
    rings = [torch.stack([r * angles.cos(), r * angles.sin(), torch.zeros(10)], 1) for r in (5.0, 40.0, 60.0)]
    pts = torch.cat([torch.cat(rings), torch.rand(30, 2)], 1)
    args = dict(
        point_cloud_range=pcr, voxel_size=[0.5, 0.5, 0.5], mode='range_aware', range_band_edges=(30.0, 50.0)
    )
    masker = MODELS.build(dict(type='VoxelMasker', range_ratios=(1.0, 0.0, 0.5), **args))
    out = masker(pts, torch.Generator().manual_seed(0))
    near, mid, far = out.point_mask.view(3, 10)
    assert near.all() and not mid.any() and int(far.sum()) == 5
    official = MODELS.build(
        dict(type='VoxelMasker', range_ratios=(1.0, 0.0, 0.5), range_distance='corner_index', **args)
    )
    # indices from the corner (-70, -70): every voxel is > 50 voxels away -> ratio 0.5 everywhere
    assert int(official(pts, torch.Generator().manual_seed(0)).point_mask.sum()) == 15
    with pytest.raises(ValueError, match='range_distance'):
        MODELS.build(dict(type='VoxelMasker', range_distance='metres', **args))
