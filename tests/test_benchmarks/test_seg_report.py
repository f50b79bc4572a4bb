"""BEV segmentation figures in the label-efficiency reports, and list evaluators' data options."""

import json

import pytest
from mmengine.config import Config

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.report import segmentation_table, write_reports
from mmssl.benchmarks.steps import evaluator_data_options, summarise_bev_seg_metrics


def test_bev_seg_metrics_are_summarised_in_percent():
    metrics = {
        'BEVSeg/vehicle/IoU': 0.25,
        'BEVSeg/barrier/IoU': 0.1,
        'BEVSeg/mIoU': 0.175,
        'NuScenes metric/pred_instances_3d_NuScenes/NDS': 0.3,
    }
    out = summarise_bev_seg_metrics(metrics)
    assert out['seg_mIoU'] == pytest.approx(17.5) and out['IoU_vehicle'] == pytest.approx(25.0)
    assert out['seg_IoU'] == pytest.approx({'vehicle': 25.0, 'barrier': 10.0})
    assert 'seg_map_mIoU' not in out
    with_map = summarise_bev_seg_metrics({**metrics, 'BEVSeg/map_mIoU': 0.4})
    assert with_map['seg_map_mIoU'] == pytest.approx(40.0)
    assert summarise_bev_seg_metrics({'NuScenes metric/pred_instances_3d_NuScenes/NDS': 0.3}) == {}


def test_list_evaluators_get_indexed_data_options():
    cfg = Config(
        dict(
            val_evaluator=[
                dict(type='NuScenesMetric', data_root='a/', ann_file='a/v.pkl'),
                dict(type='BEVSegMetric'),
            ],
            test_evaluator=dict(type='NuScenesMetric', data_root='a/', ann_file='a/v.pkl'),
        )
    )
    assert evaluator_data_options(cfg, 'val_evaluator', 'b/', 'b/v.pkl') == [
        'val_evaluator.0.data_root=b/',
        'val_evaluator.0.ann_file=b/v.pkl',
    ]
    assert evaluator_data_options(cfg, 'test_evaluator', 'b/', 'b/v.pkl') == [
        'test_evaluator.data_root=b/',
        'test_evaluator.ann_file=b/v.pkl',
    ]
    assert evaluator_data_options(Config(dict(e=dict(type='BEVSegMetric'))), 'e', 'b/', 'b/v.pkl') == []
    cfg.merge_from_dict(
        dict(a.split('=') for a in evaluator_data_options(cfg, 'val_evaluator', 'b/', 'b/v.pkl'))
    )
    assert cfg.val_evaluator[0]['data_root'] == 'b/' and 'data_root' not in cfg.val_evaluator[1]


def _run(method, seed, iou, miou, nds=10.0):
    return dict(
        model='bevdet', method=method, fraction=0.1, seed=seed, NDS=nds, mAP=1.0, split_file='s.pkl',
        seg_mIoU=miou, IoU_vehicle=iou, IoU_barrier=miou,
    )  # fmt: skip


def test_segmentation_table_pairs_ious_with_scratch(tmp_path):
    runs = [
        _run('scratch', 0, 10.0, 5.0),
        _run('scratch', 1, 12.0, 6.0),
        _run('scratch', 2, 14.0, 7.0),
        _run('occfeat', 0, 13.0, 6.0),
        _run('occfeat', 1, 14.0, 8.0),
        _run('occfeat', 2, 18.0, 8.0),
    ]
    text = segmentation_table(runs)
    # vehicle IoU differences 3, 2, 4: mean 3, std 1, t(0.975, 2) = 4.303 -> 3 +- 2.48
    assert '| occfeat | 0.1 | 3 |' in text and '+3.00 +- 1.00 [+0.52, +5.48]' in text
    write_reports(tmp_path, runs, PRESETS['micro'], 'bevdet', env={})
    payload = json.loads((tmp_path / 'results.json').read_text())
    (row,) = [r for r in payload['paired_seg_vs_scratch'] if r['method'] == 'occfeat']
    assert row['IoU_vehicle']['differences'] == [3.0, 2.0, 4.0]
    assert row['seg_mIoU']['mean'] == pytest.approx(4 / 3)
    assert '## BEV segmentation' in (tmp_path / 'results.md').read_text()
    no_seg = [{k: v for k, v in r.items() if 'IoU' not in k} for r in runs]
    assert segmentation_table(no_seg) == ''


def test_segmentation_only_runs_get_their_own_main_table_and_plot(tmp_path):
    runs = [
        {k: v for k, v in _run(m, s, iou, miou).items() if k not in ('NDS', 'mAP')}
        for m, s, iou, miou in [
            ('scratch', 0, 10.0, 5.0),
            ('scratch', 1, 12.0, 6.0),
            ('occfeat', 0, 13.0, 6.0),
            ('occfeat', 1, 13.0, 8.0),
        ]
    ]
    write_reports(tmp_path, runs, PRESETS['micro'], 'bevdet_map', env={})
    text = (tmp_path / 'results.md').read_text()
    assert '## BEV segmentation' in text and 'NDS gain' not in text
    payload = json.loads((tmp_path / 'results.json').read_text())
    (row,) = [r for r in payload['paired_vs_scratch'] if r['method'] == 'occfeat']
    assert row['IoU_vehicle']['differences'] == [3.0, 1.0]
    assert (tmp_path / 'label_efficiency.png').stat().st_size > 0
    with pytest.raises(ValueError, match='neither'):
        write_reports(
            tmp_path,
            [{k: v for k, v in r.items() if 'IoU' not in k} for r in runs],
            PRESETS['micro'],
            'x',
            env={},
        )


def test_downstream_summary_and_headline():
    from mmssl.benchmarks.steps import headline, summarise_downstream_metrics

    seg = {'BEVSeg/vehicle/IoU': 0.2, 'BEVSeg/mIoU': 0.2, 'BEVSeg/map_mIoU': 0.5}
    rec = summarise_downstream_metrics(seg)
    assert 'NDS' not in rec and headline(rec) == 'vehicle IoU 20.00 map mIoU 50.00'
    with pytest.raises(KeyError, match='neither|no NuScenesMetric'):
        summarise_downstream_metrics({'other/metric': 1.0})
