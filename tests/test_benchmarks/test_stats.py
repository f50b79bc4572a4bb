"""Paired differences to scratch and their Student-t intervals, on a hand-made results file."""

import json
import math

import pytest
from scipy import stats

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.report import write_reports
from mmssl.benchmarks.stats import mean_std_ci, paired_differences

# Hand-made results.json 'runs': NDS of scratch and nsmae at fraction 0.1, seeds 0-2, on one split.
# Scratch varies with the seed (10, 12, 11); nsmae = scratch + (3, 1, 4).
SPLIT = dict(scenes=['scene-0001', 'scene-0002'])
HAND_RUNS = [
    dict(method='scratch', fraction=0.1, seed=0, NDS=10.0, mAP=5.0, split=SPLIT),
    dict(method='scratch', fraction=0.1, seed=1, NDS=12.0, mAP=6.0, split=SPLIT),
    dict(method='scratch', fraction=0.1, seed=2, NDS=11.0, mAP=7.0, split=SPLIT),
    dict(method='nsmae', fraction=0.1, seed=0, NDS=13.0, mAP=5.0, split=SPLIT),
    dict(method='nsmae', fraction=0.1, seed=1, NDS=13.0, mAP=6.5, split=SPLIT),
    dict(method='nsmae', fraction=0.1, seed=2, NDS=15.0, mAP=6.0, split=SPLIT),
]


@pytest.fixture()
def results_file(tmp_path):
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(dict(runs=HAND_RUNS)))
    return path


def test_paired_differences_by_hand(results_file):
    runs = json.loads(results_file.read_text())['runs']
    d = paired_differences(runs)[('nsmae', 0.1)]['NDS']
    # differences 3, 1, 4: mean 8/3; sample variance ((1/3)^2 + (5/3)^2 + (4/3)^2) / 2 = 7/3
    assert d['seeds'] == [0, 1, 2] and d['differences'] == [3.0, 1.0, 4.0]
    assert d['mean'] == pytest.approx(8 / 3)
    assert d['std'] == pytest.approx(math.sqrt(7 / 3))
    # t(0.975, 2) = 4.302653 (tables); half width = t * sd / sqrt(3)
    half = 4.302652729911275 * math.sqrt(7 / 3) / math.sqrt(3)
    assert d['half_width'] == pytest.approx(half, rel=1e-9)
    assert (d['ci_low'], d['ci_high']) == pytest.approx((8 / 3 - half, 8 / 3 + half))
    lo, hi = stats.t.interval(0.95, df=2, loc=8 / 3, scale=math.sqrt(7 / 3) / math.sqrt(3))
    assert (d['ci_low'], d['ci_high']) == pytest.approx((lo, hi), rel=1e-9)
    assert d['ci_low'] < 0 < d['ci_high']  # +2.7 NDS with 3 seeds: not excluded from zero
    m = paired_differences(runs)[('nsmae', 0.1)]['mAP']
    assert m['differences'] == [0.0, 0.5, -1.0] and m['mean'] == pytest.approx(-1 / 6)


def test_pairing_beats_unpaired_spread():
    """Scratch's seed-to-seed spread (shared by both arms) cancels in the paired differences."""
    runs = []
    for seed, offset in enumerate((0.0, 10.0, -10.0)):
        runs.append(dict(method='scratch', fraction=1.0, seed=seed, NDS=20 + offset, mAP=0.0))
        runs.append(dict(method='nsmae', fraction=1.0, seed=seed, NDS=22 + offset, mAP=0.0))
    d = paired_differences(runs, metrics=('NDS',))[('nsmae', 1.0)]['NDS']
    assert d['mean'] == pytest.approx(2.0) and d['std'] == pytest.approx(0.0, abs=1e-12)
    assert d['ci_low'] == pytest.approx(2.0) and d['ci_high'] == pytest.approx(2.0)


def test_only_common_seeds_pair_and_one_seed_has_no_interval():
    runs = [
        dict(method='scratch', fraction=0.01, seed=0, NDS=1.0, mAP=0.0),
        dict(method='nsmae', fraction=0.01, seed=0, NDS=3.5, mAP=0.0),
        dict(method='nsmae', fraction=0.01, seed=1, NDS=9.0, mAP=0.0),  # no scratch partner
    ]
    d = paired_differences(runs)[('nsmae', 0.01)]['NDS']
    assert d['seeds'] == [0] and d['mean'] == pytest.approx(2.5)
    assert d['std'] is None and d['ci_low'] is None and d['half_width'] is None


def test_pairs_must_share_the_split_and_runs_must_be_unique():
    runs = [
        dict(method='scratch', fraction=0.1, seed=0, NDS=1.0, mAP=0.0, split=dict(scenes=['a'])),
        dict(method='nsmae', fraction=0.1, seed=0, NDS=2.0, mAP=0.0, split=dict(scenes=['b'])),
    ]
    with pytest.raises(ValueError, match='different scene subsets'):
        paired_differences(runs)
    with pytest.raises(ValueError, match='two runs of method'):
        paired_differences([runs[0], runs[0]])


def test_mean_std_ci_against_scipy():
    values = [0.3, -1.2, 2.5, 0.9, 1.1]
    out = mean_std_ci(values, confidence=0.9)
    lo, hi = stats.t.interval(0.9, df=4, loc=stats.tmean(values), scale=stats.sem(values))
    assert out['n'] == 5 and (out['ci_low'], out['ci_high']) == pytest.approx((lo, hi))
    with pytest.raises(ValueError, match='confidence'):
        mean_std_ci(values, confidence=1.0)


def test_reports_hold_the_paired_intervals(results_file, tmp_path):
    runs = json.loads(results_file.read_text())['runs']
    write_reports(tmp_path, runs, PRESETS['quick'], 'bevfusion', dict(git_commit='abc'))
    payload = json.loads((tmp_path / 'results.json').read_text())
    (row,) = payload['paired_vs_scratch']
    assert row['method'] == 'nsmae' and row['fraction'] == 0.1
    assert row['NDS']['mean'] == pytest.approx(8 / 3)
    half = 4.302652729911275 * math.sqrt(7 / 3) / math.sqrt(3)
    line = next(
        x for x in (tmp_path / 'results.md').read_text().splitlines() if x.startswith('| nsmae | 0.1 ')
    )
    assert f'+2.67 +- 1.53 [{8 / 3 - half:+.2f}, {8 / 3 + half:+.2f}]' in line  # [-1.13, +6.46]
    assert '[-1.13, +6.46]' in line
    png = (tmp_path / 'label_efficiency.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
