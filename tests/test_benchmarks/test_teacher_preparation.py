"""The harness prepares a pre-training's frozen teacher: declared random weights, then its cache.

Resume of both (an existing weights file is left, complete cache entries are skipped) is tested
with the writer and the cache builder themselves.
"""

import json
import pickle

import torch

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.label_efficiency import LabelEfficiencyBenchmark


def test_random_teacher_is_written_and_every_training_frame_cached(synthetic_world, tmp_path):
    bench = LabelEfficiencyBenchmark(
        PRESETS['micro'],
        'bevdet',
        ['occfeat'],
        [0.5],
        [0],
        tmp_path / 'out',
        data_root=str(synthetic_world['root']),
    )
    weights = tmp_path / 'weights' / 'random_vits14.pth'
    cache = tmp_path / 'cache'
    run_config = bench._run_config(
        'pretrain_bevdet_occfeat',
        bench.entry.pretrain_configs['occfeat'],
        dict(
            random_teacher_weights=dict(arch='vit_small_patch14_dinov2', seed=0, checkpoint=str(weights)),
            model=dict(
                target_generator=dict(
                    features=dict(
                        cache_root=str(cache), teacher=dict(checkpoint=str(weights), input_size=(28, 42))
                    )
                )
            ),
        ),
    )
    work_dir = tmp_path / 'work'
    record = bench.prepare_teacher(run_config, work_dir)
    assert weights.is_file() and torch.load(weights, weights_only=True)['pos_embed'].shape == (
        1,
        37 * 37 + 1,
        384,
    )
    assert record['weights'] == 'random init (seed 0)' and record['checkpoint'] == str(weights)
    assert record['arch'] == 'vit_small_patch14_dinov2' and record['cache_root'] == str(cache)
    with open(synthetic_world['train_info'], 'rb') as f:
        frames = len(pickle.load(f)['data_list'])
    (folder,) = [p for p in cache.iterdir() if p.is_dir()]
    assert len(list(folder.glob('*.pt'))) == frames > 0
    log = (work_dir / 'teacher.log').read_text()
    assert 'RANDOM-INIT vit_small_patch14_dinov2 (seed 0)' in log
    stats = json.loads(log.strip().splitlines()[-1])
    assert stats['computed'] == frames and not stats['failed']


def test_superpixels_of_every_training_frame_are_built_once(synthetic_world, tmp_path):
    """SLidR's LoadSuperpixels: the harness builds its cache over every training frame; a second
    preparation computes nothing."""
    from mmengine.config import Config

    from mmssl.benchmarks.teacher_prep import prepare_superpixels

    cfg = Config.fromfile('configs/slidr/slidr_centerpoint_tiny.py')
    source = dict(type='SLICSuperpixels', n_segments=40, downscale=2)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'LoadSuperpixels':
            t.update(cache_root=str(tmp_path / 'sp'), source=source)
    work_dir = tmp_path / 'work'
    args = (cfg, work_dir, str(synthetic_world['train_info']), str(synthetic_world['root']))
    (record,) = prepare_superpixels(*args)
    assert record == dict(cache_root=str(tmp_path / 'sp'), source=source)
    with open(synthetic_world['train_info'], 'rb') as f:
        frames = len(pickle.load(f)['data_list'])
    (folder,) = [p for p in (tmp_path / 'sp').iterdir() if p.is_dir()]
    assert len(list(folder.glob('*/*.png'))) == 6 * frames > 0
    first = json.loads((work_dir / 'superpixels.log').read_text().strip().splitlines()[-1])
    assert first['computed'] == 6 * frames and not first['failed']
    prepare_superpixels(*args)
    second = json.loads((work_dir / 'superpixels.log').read_text().strip().splitlines()[-1])
    assert second['computed'] == 0 and second['skipped'] == 6 * frames
