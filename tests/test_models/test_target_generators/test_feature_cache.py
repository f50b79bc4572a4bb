"""The teacher feature cache on the synthetic world: build, read back = live teacher, resume, keys."""

from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from mmengine.config import Config

from mmssl.models.algorithms import BaseSelfSupervisor
from mmssl.models.target_generators import CachedTeacherFeatures
from mmssl.models.target_generators.cache_builder import _test_mode_dataset
from mmssl.models.target_generators.feature_cache import cache_dir, entry_path, teacher_cache_key
from mmssl.testing.runs import import_tool

REPO = Path(__file__).resolve().parents[3]
TINY = dict(embed_dim=32, depth=2, num_heads=2)


def _tool():
    return import_tool('tools/cache_teacher_features.py')


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    torch.manual_seed(0)
    model = timm.create_model(
        'vit_small_patch14_dinov2', pretrained=False, img_size=518, num_classes=0, **TINY
    )
    state = dict(model.state_dict(), mask_token=torch.zeros(1, 32))
    path = tmp_path_factory.mktemp('weights') / 'dinov2_vits14_pretrain.pth'
    torch.save(state, path)
    return path


def _teacher(weights, **kwargs):
    return dict(
        type='DINOv2Teacher',
        checkpoint=str(weights),
        input_size=[28, 42],
        arch_kwargs=TINY,
        out_stride=7,
        **kwargs,
    )


def _config(tmp_path, world, teacher, root):
    cfg = Config.fromfile(str(REPO / 'configs/_base_/datasets/synthetic_nus_pretrain.py'))
    cfg.train_dataloader.dataset.update(data_root=str(world['root']), ann_file=str(world['train_info']))
    cfg.model = dict(
        target_generator=dict(type='CachedTeacherFeatures', teacher=teacher, cache_root=str(root))
    )
    path = tmp_path / 'cache_cfg.py'
    cfg.dump(str(path))
    return cfg, path


class _Distiller(BaseSelfSupervisor):
    def extract_feat(self, inputs, data_samples=None):
        return inputs

    def loss(self, inputs, data_samples):
        raise NotImplementedError


def _live_images(cfg, index):
    """The sample's camera images as ``(1, N, 3, H, W)`` RGB in [0, 1], un-augmented."""
    results = _test_mode_dataset(cfg, 'train')[index]
    imgs = np.stack(results['img'])[..., ::-1].copy()
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float()[None] / 255.0, results['token']


def test_cache_reads_back_the_live_features_and_resumes(tmp_path, synthetic_world, weights):
    root = tmp_path / 'cache'
    teacher = _teacher(weights)
    cfg, cfg_path = _config(tmp_path, synthetic_world, teacher, root)
    stats = _tool().main([str(cfg_path), '--no-progress'])
    n = stats['samples']
    assert n == 4 and stats['computed'] == n and stats['skipped'] == 0  # 4 train keyframes
    folder = Path(stats['folder'])
    assert folder == cache_dir(root, teacher_cache_key(teacher)) and (folder / 'cache_meta.json').is_file()
    files = sorted(folder.glob('*.pt'))
    assert len(files) == n and not list(folder.glob('.*.tmp'))
    assert stats['bytes'] == sum(f.stat().st_size for f in files)

    live = CachedTeacherFeatures(teacher)
    cached = CachedTeacherFeatures(teacher, cache_root=str(root))
    assert cached.teacher is None  # the cache reader does not build the network
    pairs = [_live_images(cfg, i) for i in (0, 2)]
    images = torch.cat([p[0] for p in pairs])
    tokens = [p[1] for p in pairs]
    expect = live(images)
    got = cached(images, tokens=tokens)
    assert got.shape == expect.shape == (2, 6, 32, 4, 6) and got.dtype == torch.float32
    torch.testing.assert_close(got, expect, atol=2e-3 * expect.abs().max().item(), rtol=1e-2)
    # as a self-supervisor's target generator: same call for the cache and the live teacher, nothing saved
    for root_cfg in (str(root), None):
        model = _Distiller(
            target_generator=dict(type='CachedTeacherFeatures', teacher=teacher, cache_root=root_cfg)
        )
        assert not any(k.startswith('target_generator.') for k in model.state_dict())
        out = model.generate_targets(images, tokens=tokens)
        torch.testing.assert_close(out, got if root_cfg else expect)
    stored = torch.load(entry_path(folder, tokens[0]), weights_only=True)['features']
    assert stored.dtype == torch.float16 and stored.shape == (6, 32, 2, 3)

    # resume: complete files are skipped, a truncated and a corrupted one are recomputed
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    again = _tool().main([str(cfg_path), '--no-progress'])
    assert again['computed'] == 0 and again['skipped'] == n
    assert all(f.stat().st_mtime_ns == mtimes[f] for f in files)
    truncated = entry_path(folder, tokens[0])
    corrupted = next(f for f in files if f != truncated)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    with pytest.raises(ValueError, match='corrupt or truncated'):
        cached(images, tokens=tokens)
    data = bytearray(corrupted.read_bytes())
    entry = torch.load(corrupted, weights_only=True)
    raw = entry['features'].numpy().tobytes()
    start = bytes(data).find(raw[:64])
    assert start > 0
    data[start + 10] ^= 0xFF  # flip a byte inside the stored features
    corrupted.write_bytes(bytes(data))
    third = _tool().main([str(cfg_path), '--no-progress'])
    assert third['computed'] == 2 and third['skipped'] == n - 2
    torch.testing.assert_close(cached(images, tokens=tokens), got)


def test_a_cache_of_another_key_is_refused(tmp_path, synthetic_world, weights):
    root = tmp_path / 'cache'
    teacher = _teacher(weights)
    _, cfg_path = _config(tmp_path, synthetic_world, teacher, root)
    stats = _tool().main([str(cfg_path), '--no-progress'])
    # the key: defaults filled in, post-cache settings left out
    assert teacher_cache_key(teacher) == teacher_cache_key(
        dict(teacher, layer=-1, dtype='bf16', out_stride=None)
    )
    other = dict(teacher, after_norm=True)
    assert teacher_cache_key(other) != teacher_cache_key(teacher)
    with pytest.raises(ValueError, match='other keys'):
        CachedTeacherFeatures(other, cache_root=str(root))
    with pytest.raises(ValueError, match=r"another teacher key.*'after_norm': \(False, True\)"):
        CachedTeacherFeatures(other, cache_root=stats['folder'])
    with pytest.raises(ValueError, match='another teacher key'):
        CachedTeacherFeatures(dict(teacher, input_size=[42, 70]), cache_root=stats['folder'])
    with pytest.raises(FileNotFoundError, match='no teacher feature cache'):
        CachedTeacherFeatures(teacher, cache_root=str(tmp_path / 'empty'))
    reader = CachedTeacherFeatures(teacher, cache_root=str(root))
    with pytest.raises(FileNotFoundError, match='no cached teacher features'):
        reader(tokens=['not-a-sample'])


def test_a_bad_image_is_reported_and_not_cached(tmp_path, synthetic_world, weights):
    import shutil

    world_root = tmp_path / 'world'
    shutil.copytree(synthetic_world['root'], world_root)  # the session's world stays intact
    world = dict(
        synthetic_world, root=world_root, train_info=world_root / Path(synthetic_world['train_info']).name
    )
    teacher = _teacher(weights)
    cfg, cfg_path = _config(tmp_path, world, teacher, tmp_path / 'cache')
    dataset = _test_mode_dataset(cfg, 'train')
    info = dataset.get_data_info(1)
    bad_image = Path(next(iter(info['images'].values()))['img_path'])
    assert bad_image.is_relative_to(world_root)
    bad_image.write_bytes(b'not an image')
    stats = _tool().main([str(cfg_path), '--no-progress'])
    assert stats['computed'] == stats['samples'] - 1 and len(stats['failed']) == 1
    assert info['token'] in stats['failed'][0] and bad_image.name in stats['failed'][0]
    reader = CachedTeacherFeatures(teacher, cache_root=str(tmp_path / 'cache'))
    with pytest.raises(FileNotFoundError, match='no cached teacher features'):
        reader(tokens=[info['token']])
