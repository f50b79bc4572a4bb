"""Merged pre-trainings in the label-efficiency harness (UniPAD's official fusion recipe)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks import label_efficiency as le
from mmssl.benchmarks.merged_pretraining import DeferredPretraining
from mmssl.benchmarks.presets import MergePart

CAMERA = ('img_backbone.', 'img_neck.', 'view_transform.')


class _FakeTrain:
    """Stands in for tools/train.py: writes a checkpoint whose every tensor holds the index of the
    run (1, 2, ...), so the merged file tells which run each module came from."""

    def __init__(self) -> None:
        self.runs: list[Path] = []

    def __call__(self, cmd, log_file, threads=None) -> None:
        work_dir = log_file.parent
        work_dir.mkdir(parents=True, exist_ok=True)
        assert cmd[0] == 'tools/train.py'
        self.runs.append(work_dir)
        value = float(len(self.runs))
        state = {
            f'{prefix}w': torch.full((3,), value)
            for prefix in (*CAMERA, 'pts_middle_encoder.', 'render_head.', 'fuse_proj.')
        }
        ckpt = work_dir / 'iter_4.pth'
        torch.save({'state_dict': state, 'meta': {}}, ckpt)
        (work_dir / 'last_checkpoint').write_text(str(ckpt))


@pytest.fixture()
def bench(tmp_path, monkeypatch):
    train = _FakeTrain()
    monkeypatch.setattr(le, 'run_logged', train)
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['micro'], 'bevfusion', ['scratch', 'unipad_merged'], [0.5], [0], tmp_path / 'out'
    )
    monkeypatch.setattr(bench, 'training_frames', lambda: 8)
    bench.train = train
    return bench


def test_the_bevfusion_entry_merges_the_two_unipad_halves():
    entry = PRESETS['cpu'].models['bevfusion']
    cam, lidar = entry.merged_pretrainings['unipad_merged']
    assert cam == MergePart('unipad_cam', CAMERA) and lidar == MergePart(
        'unipad_lidar', ('pts_middle_encoder.',)
    )
    # each half is an ordinary pre-training method of the entry, with the encoders it hands over
    cam_cfg = Config.fromfile(entry.pretrain_configs['unipad_cam'])
    lidar_cfg = Config.fromfile(entry.pretrain_configs['unipad_lidar'])
    assert cam_cfg.model.pts_middle_encoder is None and cam_cfg.model.img_backbone is not None
    assert lidar_cfg.model.img_backbone is None and lidar_cfg.model.pts_middle_encoder is not None
    assert lidar_cfg.model.loss_rgb is None  # depth only, as the official LiDAR pre-training
    joint = Config.fromfile(entry.pretrain_configs['unipad'])
    assert cam_cfg.model.img_backbone == joint.model.img_backbone
    assert lidar_cfg.model.pts_middle_encoder == joint.model.pts_middle_encoder
    for cfg in (cam_cfg, lidar_cfg):
        assert cfg.downstream_config == entry.finetune_config


def test_unknown_methods_name_the_merged_ones(tmp_path):
    with pytest.raises(KeyError, match='unipad_merged'):
        le.LabelEfficiencyBenchmark(PRESETS['micro'], 'bevfusion', ['nope'], [0.5], [0], tmp_path)


def test_merged_pretraining_takes_each_module_from_its_part(bench):
    record = bench.pretrain('unipad_merged')
    out = bench.out / 'pretrain'
    # both halves pre-trained as their own methods, camera first
    assert bench.train.runs == [out / 'bevfusion_unipad_cam', out / 'bevfusion_unipad_lidar']
    merged = torch.load(record['checkpoint'], map_location='cpu', weights_only=False)
    state = merged['state_dict']
    assert sorted(state) == sorted([f'{p}w' for p in CAMERA] + ['pts_middle_encoder.w'])
    for prefix in CAMERA:
        assert torch.equal(state[f'{prefix}w'], torch.full((3,), 1.0))  # the camera run
    assert torch.equal(state['pts_middle_encoder.w'], torch.full((3,), 2.0))  # the LiDAR run
    assert [p['method'] for p in record['parts']] == ['unipad_cam', 'unipad_lidar']
    assert record['parts'][1]['prefixes'] == ['pts_middle_encoder.']
    assert [m['checkpoint'] for m in merged['meta']['merged_from']] == [
        str(out / 'bevfusion_unipad_cam' / 'iter_4.pth'),
        str(out / 'bevfusion_unipad_lidar' / 'iter_4.pth'),
    ]
    table = (out / 'bevfusion_unipad_merged' / 'merge_table.txt').read_text()
    assert 'pts_middle_encoder.' in table and 'left out of' in table  # render head, fuser not taken
    done = json.loads((out / 'bevfusion_unipad_merged' / 'done.json').read_text())
    assert done['checkpoint'] == record['checkpoint']
    # resumed: nothing is pre-trained or merged again
    assert bench.pretrain('unipad_merged') == done
    assert len(bench.train.runs) == 2


def test_a_fine_tune_of_the_merged_method_starts_from_the_merged_file(bench, tmp_path, monkeypatch):
    record = bench.pretrain('unipad_merged')
    seen = []

    def tools(cmd, log_file, threads=None):
        seen.append(cmd)
        raise RuntimeError('stop after the command is built')

    monkeypatch.setattr(le, 'run_logged', tools)
    monkeypatch.setattr(bench, 'split_file', lambda fraction: tmp_path / 'split.pkl')
    with pytest.raises(RuntimeError, match='stop after'):
        bench.finetune('unipad_merged', 0.5, 0, record)
    assert f'model.init_from.checkpoint={record["checkpoint"]}' in seen[0]


def test_a_part_without_checkpoint_is_named(bench):
    with pytest.raises(FileNotFoundError, match='part unipad_lidar left no checkpoint'):
        bench.pretrain_merged('unipad_merged', [dict(checkpoint='a.pth'), dict(checkpoint=None)])


def test_deferred_pretraining_waits_for_its_parts_and_merges_once():
    calls = []
    gate = threading.Event()

    def merge(records):
        calls.append(records)
        return dict(checkpoint='merged', parts=records)

    with ThreadPoolExecutor(max_workers=4) as pool:
        parts = [pool.submit(lambda: (gate.wait(5), 'cam')[1]), pool.submit(lambda: 'lidar')]
        deferred = DeferredPretraining(merge, parts)
        readers = [pool.submit(deferred.result) for _ in range(2)]
        assert not deferred.done()
        gate.set()
        results = [r.result(timeout=10) for r in readers]
    assert calls == [['cam', 'lidar']]  # merged once, from both parts, in their order
    assert results[0] is results[1] and deferred.done()


def test_run_pretrains_the_halves_side_by_side_and_fine_tunes_from_the_merge(tmp_path, monkeypatch):
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['micro'],
        'bevfusion',
        ['scratch', 'unipad_merged'],
        [0.5],
        [0, 1],
        tmp_path,
        jobs=2,
        probe=False,
    )
    events, lock = [], threading.Lock()

    def pretrain(method):
        with lock:
            events.append(('start', method))
        threading.Event().wait(0.3)
        with lock:
            events.append(('end', method))
        return dict(method=method, checkpoint=f'{method}.pth')

    def merge(method, records):
        with lock:
            events.append(('merge', method, tuple(r['checkpoint'] for r in records)))
        return dict(method=method, checkpoint='merged.pth')

    def finetune(method, fraction, seed, pretrained, strategy='full'):
        with lock:
            events.append(('finetune', method, seed, pretrained and pretrained['checkpoint']))
        return dict(method=method, fraction=fraction, seed=seed, strategy=strategy, NDS=1.0, mAP=2.0)

    monkeypatch.setattr(bench, 'pretrain', pretrain)
    monkeypatch.setattr(bench, 'pretrain_merged', merge)
    monkeypatch.setattr(bench, 'finetune', finetune)
    monkeypatch.setattr(bench, 'prepare_data', lambda: None)
    monkeypatch.setattr(bench, 'check_data', lambda: None)
    monkeypatch.setattr(bench, 'split_file', lambda fraction: tmp_path / 'split.pkl')
    reports = {}
    monkeypatch.setattr(le, 'write_reports', lambda out, records, *a, **kw: reports.update(kw))
    records = bench.run()
    # the two halves run at once (two slots), the merge once after both, before its fine-tunes
    assert events[:2] == [('start', 'unipad_cam'), ('start', 'unipad_lidar')]
    merges = [i for i, e in enumerate(events) if e[0] == 'merge']
    assert len(merges) == 1
    assert events[merges[0]] == ('merge', 'unipad_merged', ('unipad_cam.pth', 'unipad_lidar.pth'))
    assert merges[0] > max(events.index(('end', 'unipad_cam')), events.index(('end', 'unipad_lidar')))
    tuned = [e for e in events if e[:2] == ('finetune', 'unipad_merged')]
    assert [e[3] for e in tuned] == ['merged.pth', 'merged.pth']
    assert all(events.index(e) > merges[0] for e in tuned)
    assert [(r['method'], r['seed']) for r in records] == [
        ('scratch', 0),
        ('scratch', 1),
        ('unipad_merged', 0),
        ('unipad_merged', 1),
    ]
    assert set(reports['pretraining']) == {'unipad_cam', 'unipad_lidar', 'unipad_merged'}
