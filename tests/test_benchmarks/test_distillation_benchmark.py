"""The BEVDistill benchmark's plan: which teacher each student run gets, which labels it records,
the combined row's reused pre-training, and the paired report."""

import json

import pytest

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks import distillation as dist
from mmssl.benchmarks import label_efficiency as le
from mmssl.benchmarks.stats import paired_runs


def _fake_runs(monkeypatch):
    """Replace every sub-benchmark's run by records computed from its settings."""
    calls = []

    def run(self):
        calls.append(self)
        records = []
        for method in self.methods:
            for fraction in self.fractions:
                for seed in self.seeds:
                    options = self.fraction_options.get(float(fraction), [])
                    teacher = 1.0 if any('frac1_' in o for o in options) else 0.0
                    base = {'centerpoint': 50.0, 'bevdet': 2.0, 'bevdet_distill': 4.0}[self.model]
                    value = base + 10 * fraction + seed * 0.5 + (method != 'scratch') + teacher
                    records.append(
                        dict(
                            model=self.model,
                            method=method,
                            fraction=fraction,
                            seed=seed,
                            mAP=value,
                            NDS=value + 1,
                            split=dict(scenes=[f'f{fraction}']),
                            checkpoint=f'/t/{self.model}/frac{fraction:g}_seed{seed}/iter_1.pth',
                            iters_per_sec=1.0,
                            peak_mem_mb=100.0,
                            **self.fraction_records.get(float(fraction), {}),
                        )
                    )
                    if self.model != 'centerpoint':  # the students' BEV segmentation head
                        records[-1]['IoU_vehicle'] = 2 * value
        return records

    monkeypatch.setattr(le.LabelEfficiencyBenchmark, 'run', run)
    monkeypatch.setattr(
        le.LabelEfficiencyBenchmark, 'pretrain', lambda self, m: dict(method=m, checkpoint='/p/occfeat.pth')
    )
    return calls


def test_teachers_students_and_the_combined_row(monkeypatch, tmp_path):
    calls = _fake_runs(monkeypatch)
    bench = dist.DistillationBenchmark(
        PRESETS['cpu'],
        (0.1, 1.0),
        (0, 1, 2),
        tmp_path,
        finetune_iters=30,
        teacher_iters=40,
        combine='occfeat',
    )
    results = bench.run()
    teacher = next(c for c in calls if c.model == 'centerpoint')
    assert (teacher.model, teacher.fractions, teacher.seeds) == ('centerpoint', [0.1, 1.0], [0])
    assert teacher.preset.finetune_iters == 40
    assert all(c.preset.finetune_iters == 30 for c in calls if c is not teacher)
    assert all(c.jobs == 1 for c in calls if c.model == 'bevdet_distill')  # two chains of one job
    assert all(c.probe_enabled is False for c in calls)
    distilled = [c for c in calls if c.model == 'bevdet_distill']
    matched = [c for c in distilled if c.out.name == 'distill_matched']
    t100 = [c for c in distilled if c.out.name == 'distill_t100']
    # matched: every fraction's own teacher; t100: the 100% teacher, below 100% only
    assert matched[0].fraction_options == {
        0.1: ['model.target_generator.checkpoint=/t/centerpoint/frac0.1_seed0/iter_1.pth'],
        1.0: ['model.target_generator.checkpoint=/t/centerpoint/frac1_seed0/iter_1.pth'],
    }
    assert t100[0].fractions == [0.1]
    assert t100[0].fraction_options == {
        0.1: ['model.target_generator.checkpoint=/t/centerpoint/frac1_seed0/iter_1.pth']
    }
    assert matched[0].fraction_records[0.1]['teacher_fraction'] == 0.1
    assert t100[0].fraction_records[0.1] == dict(
        teacher_setting='t100',
        teacher_fraction=1.0,
        teacher_checkpoint='/t/centerpoint/frac1_seed0/iter_1.pth',
        teacher_mAP=60.0,
        teacher_NDS=61.0,
    )
    # the combined arms reuse the student's OccFeat pre-training (same folder, same options)
    combined = [c for c in distilled if c.methods == ['occfeat']]
    assert [c.out.name for c in combined] == ['distill_matched']  # the combined row: matched teacher
    assert all(
        c.pretrained == {'occfeat': dict(method='occfeat', checkpoint='/p/occfeat.pth')} for c in combined
    )
    assert combined[0].fraction_options == matched[0].fraction_options
    # paired differences: distilled arm - camera arm of the same fraction and seed
    by = {(d['arm'], d['reference'], d['fraction']): d for d in results['paired']}
    assert by[('bevdistill_matched', 'camera', 0.1)]['mAP']['differences'] == [2.0, 2.0, 2.0]
    assert by[('bevdistill_t100', 'camera', 0.1)]['mAP']['mean'] == pytest.approx(3.0)
    assert by[('bevdistill_t100', 'camera', 0.1)]['IoU_vehicle']['mean'] == pytest.approx(6.0)
    assert by[('occfeat+bevdistill_matched', 'occfeat', 0.1)]['NDS']['mean'] == pytest.approx(2.0)
    assert by[('occfeat+bevdistill_matched', 'camera', 0.1)]['NDS']['ci_low'] == pytest.approx(3.0)
    saved = json.loads((tmp_path / 'results.json').read_text())
    assert saved['teachers'] == {'0.1': {'mAP': 51.0, 'NDS': 52.0}, '1': {'mAP': 60.0, 'NDS': 61.0}}
    md = (tmp_path / 'results.md').read_text()
    assert '| bevdistill_t100 | 10% | 100% | 3 |' in md and '+3.00' in md and 'vehicle IoU' in md


def test_pairs_on_different_scenes_are_refused():
    a = [dict(seed=0, fraction=0.1, mAP=1.0, NDS=1.0, split=dict(scenes=['a']))]
    b = [dict(seed=0, fraction=0.1, mAP=1.0, NDS=1.0, split=dict(scenes=['b']))]
    with pytest.raises(ValueError, match='x and y, seed 0 were trained on different scene subsets'):
        paired_runs(a, b, what='x and y')
    assert paired_runs(a, []) == {}


def test_fraction_options_are_part_of_the_protocol(tmp_path):
    kwargs = dict(
        preset=PRESETS['cpu'], model='bevdet_distill', methods=['scratch'], fractions=[0.1], seeds=[0]
    )
    plain = le.LabelEfficiencyBenchmark(**kwargs, out=tmp_path / 'a')
    assert 'fraction_options' not in plain.protocol()  # folders made without them stay valid
    bench = le.LabelEfficiencyBenchmark(**kwargs, out=tmp_path / 'a', fraction_options={0.1: ['x=1']})
    assert bench.protocol()['fraction_options'] == {'0.1': ['x=1']}
    (tmp_path / 'a').mkdir()
    bench.check_protocol()
    other = le.LabelEfficiencyBenchmark(**kwargs, out=tmp_path / 'a', fraction_options={0.1: ['x=2']})
    with pytest.raises(ValueError, match='another protocol'):
        other.check_protocol()
