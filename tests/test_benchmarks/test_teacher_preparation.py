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
    assert record == dict(
        cache_root=str(tmp_path / 'sp'), source=source, data_root=str(synthetic_world['root'])
    )
    with open(synthetic_world['train_info'], 'rb') as f:
        frames = len(pickle.load(f)['data_list'])
    (folder,) = [p for p in (tmp_path / 'sp').iterdir() if p.is_dir()]
    assert len(list(folder.glob('*/*.png'))) == 6 * frames > 0
    first = json.loads((work_dir / 'superpixels.log').read_text().strip().splitlines()[-1])
    assert first['computed'] == 6 * frames and not first['failed']
    prepare_superpixels(*args)
    second = json.loads((work_dir / 'superpixels.log').read_text().strip().splitlines()[-1])
    assert second['computed'] == 0 and second['skipped'] == 6 * frames


def test_random_weights_come_before_the_superpixels_that_read_them(synthetic_world, tmp_path):
    """LargeAD's k-means superpixels cluster the random teacher's features: in a fresh checkout
    (no data/weights) the harness writes the weights first, then builds the superpixels."""
    from mmengine.config import Config

    bench = LabelEfficiencyBenchmark(
        PRESETS['micro'],
        'minkunet_lidarseg',
        ['largead'],
        [0.5],
        [0],
        tmp_path / 'out',
        data_root=str(synthetic_world['root']),
    )
    weights = tmp_path / 'weights' / 'random_vits14.pth'
    cfg = Config.fromfile(bench.entry.pretrain_configs['largead'])
    cfg.random_teacher_weights['checkpoint'] = str(weights)
    (loader,) = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'LoadSuperpixels']
    loader['cache_root'] = str(tmp_path / 'sp')
    loader['source'] = dict(loader['source'], teacher_checkpoint=str(weights), input_size=(28, 42))
    features = cfg.model.target_generator.features
    features.cache_root = None  # the feature cache is the first test's
    features.teacher.update(checkpoint=str(weights), input_size=(28, 42))
    run_config = tmp_path / 'largead.py'
    cfg.dump(str(run_config))
    assert not weights.exists()
    record = bench.prepare_teacher(str(run_config), tmp_path / 'work')
    assert weights.is_file()
    assert record['superpixels'][0]['source']['type'] == 'kmeans'
    with open(synthetic_world['train_info'], 'rb') as f:
        frames = len(pickle.load(f)['data_list'])
    (folder,) = [p for p in (tmp_path / 'sp').iterdir() if p.is_dir()]
    assert len(list(folder.glob('*/*.png'))) == 6 * frames > 0
    assert record['cache_root'] is None and record['checkpoint'] == str(weights)


def test_shared_steps_of_one_key_run_one_at_a_time():
    import threading
    import time

    from mmssl.benchmarks.teacher_prep import shared_step

    spans: dict[str, list[float]] = {}

    def step(name: str, key: str) -> None:
        with shared_step(key):
            start = time.perf_counter()
            time.sleep(0.2)
            spans[name] = [start, time.perf_counter()]

    threads = [threading.Thread(target=step, args=a) for a in (('a', 'k'), ('b', 'k'), ('c', 'other'))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (first, second) = sorted((spans['a'], spans['b']))
    assert second[0] >= first[1]  # the same key: one after the other
    assert spans['c'][0] < max(spans['a'][1], spans['b'][1])  # another key: beside them
