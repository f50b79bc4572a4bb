"""LiDAR segmentation (MMDet3D SegMetric) figures in the label-efficiency reports: summary of the
metric's keys, means and paired intervals with NaN classes skipped, tables, strategy table, plot."""

import json
import math

import matplotlib.figure
import pytest
from scipy import stats

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.report import (
    LIDARSEG,
    aggregate,
    lidarseg_class_table,
    strategy_table,
    strategy_vs_scratch_table,
    write_reports,
)
from mmssl.benchmarks.stats import paired_differences, paired_vs_full, paired_vs_scratch_by_strategy
from mmssl.benchmarks.steps import headline, summarise_downstream_metrics, summarise_lidar_seg_metrics

NAN = float('nan')
SPLIT = dict(scenes=['scene-0001', 'scene-0002'])
#: t(0.975, 2) * sqrt(7/3) / sqrt(3): the half width of differences 3, 1, 4 (test_stats.py).
HALF = 4.302652729911275 * math.sqrt(7 / 3) / math.sqrt(3)


def _run(method, seed, miou, acc, car, bus, strategy=None):
    row = dict(
        model='minkunet_lidarseg', method=method, fraction=0.1, seed=seed, split=SPLIT,
        lidarseg_mIoU=miou, lidarseg_acc=acc, lidarseg_acc_cls=miou + 10,
        IoU_car=car, IoU_bus=bus, IoU_other_flat=None,
    )  # fmt: skip
    if strategy is not None:
        row['strategy'] = strategy
    return row


# SegMetric-style records (as summarise_lidar_seg_metrics writes them) of scratch and a method at
# 10%, seeds 0-2. mIoU differences 3, 1, 4 (mean 8/3, sd sqrt(7/3)); acc differences 0, 0.5, -1.
# bus: NaN for the method at seed 1, None for scratch at seed 2 (SegMetric could not score it):
# only seed 0 pairs. other_flat: never scored.
RUNS = [
    _run('scratch', 0, 10.0, 80.0, 30.0, 4.0),
    _run('scratch', 1, 12.0, 81.0, 32.0, 6.0),
    _run('scratch', 2, 11.0, 82.0, 34.0, None),
    _run('slidr', 0, 13.0, 80.0, 33.0, 9.0),
    _run('slidr', 1, 13.0, 81.5, 33.0, NAN),
    _run('slidr', 2, 15.0, 81.0, 36.0, 2.0),
]


def test_segmetric_keys_are_summarised_in_percent_with_nan_classes_as_none():
    metrics = dict(barrier=0.5, car=0.25, other_flat=NAN, miou=0.375, acc=0.9, acc_cls=0.6)
    # through the JSON tools/test.py writes (NaN literals) and reads back
    metrics = json.loads(json.dumps(metrics, default=float))
    out = summarise_downstream_metrics(metrics)
    assert out == summarise_lidar_seg_metrics(metrics)
    assert out['lidarseg_mIoU'] == pytest.approx(37.5) and out['lidarseg_acc'] == pytest.approx(90.0)
    assert out['lidarseg_acc_cls'] == pytest.approx(60.0)
    assert out['lidarseg_IoU'] == dict(barrier=pytest.approx(50.0), car=pytest.approx(25.0), other_flat=None)
    assert out['IoU_car'] == pytest.approx(25.0) and out['IoU_other_flat'] is None
    json.dumps(out, allow_nan=False)  # the run record is valid JSON
    assert headline(out) == 'mIoU 37.50 point acc 90.00'
    assert summarise_lidar_seg_metrics({'BEVSeg/mIoU': 0.2}) == {}
    with pytest.raises(ValueError, match='both BEVSegMetric and SegMetric'):
        summarise_downstream_metrics({**metrics, 'BEVSeg/vehicle/IoU': 0.2, 'BEVSeg/mIoU': 0.2})
    with pytest.raises(KeyError, match='no SegMetric miou'):
        summarise_downstream_metrics({'other/metric': 1.0})


def test_means_skip_nan_classes():
    table = aggregate(RUNS, ['lidarseg_mIoU', 'IoU_car', 'IoU_bus', 'IoU_other_flat'])
    scratch, slidr = table[('scratch', 0.1)], table[('slidr', 0.1)]
    assert scratch['n'] == 3 and scratch['lidarseg_mIoU'] == pytest.approx(11.0)
    assert scratch['lidarseg_mIoU_std'] == pytest.approx(1.0) and 'lidarseg_mIoU_n' not in scratch
    # bus: scratch over seeds 0, 1 (4, 6), slidr over seeds 0, 2 (9, 2)
    assert scratch['IoU_bus'] == pytest.approx(5.0) and scratch['IoU_bus_std'] == pytest.approx(math.sqrt(2))
    assert scratch['IoU_bus_n'] == 2 and slidr['IoU_bus'] == pytest.approx(5.5) and slidr['IoU_bus_n'] == 2
    assert scratch['IoU_other_flat'] is None and scratch['IoU_other_flat_std'] is None
    assert scratch['IoU_other_flat_n'] == 0


def test_paired_intervals_of_miou_and_classes_by_hand():
    row = paired_differences(RUNS, ['lidarseg_mIoU', 'lidarseg_acc', 'IoU_bus', 'IoU_other_flat'])[
        ('slidr', 0.1)
    ]
    d = row['lidarseg_mIoU']
    assert d['seeds'] == [0, 1, 2] and d['differences'] == [3.0, 1.0, 4.0]
    assert d['mean'] == pytest.approx(8 / 3) and d['std'] == pytest.approx(math.sqrt(7 / 3))
    lo, hi = stats.t.interval(0.95, df=2, loc=8 / 3, scale=math.sqrt(7 / 3) / math.sqrt(3))
    assert (d['ci_low'], d['ci_high']) == pytest.approx((lo, hi), rel=1e-9)
    assert d['half_width'] == pytest.approx(HALF, rel=1e-9)
    assert row['lidarseg_acc']['differences'] == pytest.approx([0.0, 0.5, -1.0])
    # bus pairs seed 0 only (slidr NaN at seed 1, scratch None at seed 2): no interval
    bus = row['IoU_bus']
    assert bus['seeds'] == [0] and bus['differences'] == [5.0] and bus['ci_low'] is None
    assert 'IoU_other_flat' not in row  # never scored: no pair


def test_reports_of_a_lidar_segmentation_model(tmp_path, monkeypatch):
    figures = []
    savefig = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(
        matplotlib.figure.Figure,
        'savefig',
        lambda fig, *a, **kw: (figures.append(fig), savefig(fig, *a, **kw)),
    )
    write_reports(tmp_path, RUNS, PRESETS['micro'], 'minkunet_lidarseg', dict(git_commit='abc'))
    text = (tmp_path / 'results.md').read_text()
    assert 'NDS' not in text and 'mAP' not in text
    head = '| seeds | mIoU | point acc | mIoU gain vs scratch [95% CI] | point acc gain [95% CI] |'
    assert head in text
    line = next(x for x in text.splitlines() if x.startswith('| slidr | 0.1 | 3 | 13.67 +- 1.15 |'))
    assert f'+2.67 +- 1.53 [{8 / 3 - HALF:+.2f}, {8 / 3 + HALF:+.2f}]' in line  # [-1.13, +6.46]
    assert '| scratch | 0.1 | 3 | 11.00 +- 1.00 | 81.00 +- 1.00 | - | - |' in text
    assert '## LiDAR segmentation per class' in text and '| class acc | car | bus |' in text
    assert '| scratch | 0.1 | 3 | 21.00 +- 1.00 | 32.00 +- 2.00 | 5.00 +- 1.41 (2 of 3) |' in text
    assert 'Scored in no run (NaN: not in the validation labels, never predicted): other_flat.' in text
    assert '## Feature probe' not in text and '## Fine-tuning strategies' not in text

    payload = json.loads((tmp_path / 'results.json').read_text())
    (row,) = payload['paired_vs_scratch']
    assert row['method'] == 'slidr' and row['lidarseg_mIoU']['mean'] == pytest.approx(8 / 3)
    assert row['IoU_bus']['seeds'] == [0] and 'IoU_other_flat' not in row
    summary = {s['method']: s for s in payload['summary']}
    assert summary['scratch']['lidarseg_acc_cls'] == pytest.approx(21.0)
    assert summary['slidr']['IoU_car'] == pytest.approx(34.0) and summary['slidr']['IoU_bus_n'] == 2
    assert payload['summary_seg'] == [] and 'paired_vs_full' not in payload

    (fig,) = figures
    top, gain = fig.axes[0], fig.axes[2]
    assert top.get_ylabel() == 'mIoU (%), mean +- std over seeds'
    assert top.get_title() == 'minkunet_lidarseg: mIoU vs labels (micro)'
    assert fig.axes[1].get_title() == 'minkunet_lidarseg: point acc vs labels (micro)'
    assert [list(line.get_ydata()) for line in top.lines[::3]] == [[11.0], [pytest.approx(41 / 3)]]
    assert gain.get_ylabel() == 'mIoU gain (points), 95% CI'
    assert list(gain.lines[0].get_ydata()) == [pytest.approx(8 / 3)]
    assert (tmp_path / 'label_efficiency.png').read_bytes()[:4] == b'\x89PNG'


def test_strategy_table_compares_miou_to_full_fine_tuning(tmp_path):
    # the probe of slidr: mIoU 1 below full at seeds 0, 2 and 3 below at seed 1
    probe = [
        _run('slidr', s, v, 70.0, 20.0, None, strategy='probe') for s, v in enumerate((12.0, 10.0, 14.0))
    ]
    records = RUNS + probe
    d = paired_vs_full(records, LIDARSEG.keys)[('slidr', 'probe', 0.1)]['lidarseg_mIoU']
    assert d['differences'] == [-1.0, -3.0, -1.0] and d['mean'] == pytest.approx(-5 / 3)
    text = strategy_table(records, LIDARSEG)
    assert '| mIoU | point acc | mIoU vs full [95% CI] | point acc vs full [95% CI] |' in text
    row = next(x for x in text.splitlines() if x.startswith('| slidr | probe | 0.1 | 3 |'))
    assert '12.00 +- 2.00 | 70.00 +- 0.00 | -1.67 +- 1.15 [' in row
    assert strategy_table(records) == ''  # the detection strategy table needs NDS
    write_reports(tmp_path, records, PRESETS['micro'], 'minkunet_lidarseg', env={})
    payload = json.loads((tmp_path / 'results.json').read_text())
    (row,) = payload['paired_vs_full']
    assert row['strategy'] == 'probe' and row['lidarseg_mIoU']['mean'] == pytest.approx(-5 / 3)
    assert '## Fine-tuning strategies' in (tmp_path / 'results.md').read_text()
    assert lidarseg_class_table(probe) == lidarseg_class_table([]) == ''  # per-class table: full runs only


def test_probes_are_paired_with_the_probe_of_scratch(tmp_path):
    # probes: scratch mIoU 8, 9, 7; slidr 12, 10, 14 -> differences 4, 1, 7 (mean 4, sd 3)
    probe = [_run('scratch', s, v, 50.0, 0.0, None, strategy='probe') for s, v in enumerate((8.0, 9.0, 7.0))]
    probe += [
        _run('slidr', s, v, 70.0, 20.0, None, strategy='probe') for s, v in enumerate((12.0, 10.0, 14.0))
    ]
    records = RUNS + probe
    paired = paired_vs_scratch_by_strategy(records, LIDARSEG.keys)
    assert set(paired) == {('slidr', 'probe', 0.1)}  # full runs are the main table's pairs
    d = paired[('slidr', 'probe', 0.1)]['lidarseg_mIoU']
    assert d['differences'] == [4.0, 1.0, 7.0] and d['mean'] == pytest.approx(4.0)
    half = stats.t.ppf(0.975, 2) * 3.0 / math.sqrt(3)
    assert d['ci_low'] == pytest.approx(4.0 - half) and d['ci_high'] == pytest.approx(4.0 + half)
    assert paired[('slidr', 'probe', 0.1)]['lidarseg_acc']['differences'] == [20.0, 20.0, 20.0]
    text = strategy_vs_scratch_table(records, LIDARSEG)
    row = next(x for x in text.splitlines() if x.startswith('| slidr | probe | 0.1 | 3 |'))
    assert f'| 12.00 +- 2.00 | 70.00 +- 0.00 | +4.00 +- 3.00 [{4.0 - half:+.2f}, {4.0 + half:+.2f}] |' in row
    assert strategy_vs_scratch_table(RUNS, LIDARSEG) == ''  # no strategy besides full
    write_reports(tmp_path, records, PRESETS['micro'], 'minkunet_lidarseg', env={})
    payload = json.loads((tmp_path / 'results.json').read_text())
    (row,) = payload['paired_vs_scratch_by_strategy']
    assert (row['method'], row['strategy']) == ('slidr', 'probe')
    assert row['lidarseg_mIoU']['mean'] == pytest.approx(4.0)
    assert '## Strategies against scratch' in (tmp_path / 'results.md').read_text()
