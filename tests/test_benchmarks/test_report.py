"""Aggregation, tables and plots of the label-efficiency benchmark (known answers)."""

import json

import pytest

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.report import aggregate, markdown_table, paired_differences, write_reports
from mmssl.benchmarks.steps import summarise_nuscenes_metrics


def _records():
    rows = []
    for method, base in (('scratch', 10.0), ('nsmae', 12.0)):
        for seed, delta in zip((0, 1, 2), (-1.0, 0.0, 1.0)):
            rows.append(dict(method=method, fraction=0.1, seed=seed, NDS=base + delta, mAP=base / 2 + delta))
    return rows


def test_aggregate_mean_std_over_seeds():
    table = aggregate(_records())
    assert table[('scratch', 0.1)]['NDS'] == pytest.approx(10.0)
    assert table[('scratch', 0.1)]['NDS_std'] == pytest.approx(1.0)  # sample std of -1, 0, 1
    assert table[('nsmae', 0.1)]['mAP'] == pytest.approx(6.0)
    assert table[('nsmae', 0.1)]['n'] == 3


def test_markdown_gain_and_published_columns():
    records = _records()
    text = markdown_table(aggregate(records), PRESETS['nuscenes'], 'bevfusion', paired_differences(records))
    nsmae_row = next(line for line in text.splitlines() if line.startswith('| nsmae | 0.1 '))
    # every seed is +2 NDS / +1 mAP over scratch: zero spread, the interval is the point
    assert '12.00 +- 1.00' in nsmae_row and '+2.00 +- 0.00 [+2.00, +2.00]' in nsmae_row
    assert '+1.00 +- 0.00 [+1.00, +1.00]' in nsmae_row
    assert nsmae_row.rstrip().endswith('55.9 | 61.4 |')  # NS-MAE Table VII, BEVFusion 10%: mAP, NDS


def test_write_reports_files(tmp_path):
    write_reports(tmp_path, _records(), PRESETS['micro'], 'bevfusion', dict(git_commit='abc'))
    payload = json.loads((tmp_path / 'results.json').read_text())
    assert len(payload['runs']) == 6 and payload['environment']['git_commit'] == 'abc'
    assert {(s['method'], s['fraction']) for s in payload['summary']} == {('scratch', 0.1), ('nsmae', 0.1)}
    png = (tmp_path / 'label_efficiency.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10_000


def test_summarise_nuscenes_metrics():
    prefix = 'NuScenes metric/pred_instances_3d_NuScenes'
    metrics = {f'{prefix}/NDS': 0.5, f'{prefix}/mAP': 0.25}
    for d, v in zip((0.5, 1.0, 2.0, 4.0), (0.1, 0.2, 0.3, 0.4)):
        metrics[f'{prefix}/car_AP_dist_{d}'] = v
    out = summarise_nuscenes_metrics(metrics)
    assert out['NDS'] == pytest.approx(50.0) and out['mAP'] == pytest.approx(25.0)
    assert out['per_class_AP'] == {'car': pytest.approx(25.0)}
    with pytest.raises(KeyError, match='no NuScenesMetric'):
        summarise_nuscenes_metrics({'mse': 1.0})
