"""tools/benchmark_pretrain.py: per-config worker processes, table, JSON, ratio to supervised."""

import json

import pytest

from mmssl.testing.runs import run_tool

TOY = 'tests/data/configs/toy_regression.py'


def test_step_cost_table_and_json(tmp_path):
    out = tmp_path / 'cost.json'
    proc = run_tool(
        [
            'tools/benchmark_pretrain.py',
            '--configs',
            TOY,
            '--supervised',
            TOY,
            '--iters',
            '5',
            '--warmup',
            '1',
            '--batch-size',
            '2',
            '--out',
            str(out),
        ]
    )
    assert 'toy_regression.py' in proc.stdout and 'ratio' in proc.stdout
    payload = json.loads(out.read_text())
    (row,) = payload['rows']
    assert row['batch_size'] == 2 and row['iters'] == 5 and row['device'] == 'cpu'
    assert row['median_step_s'] > 0 and row['peak_mem_mb'] > 50
    assert row['ratio_to_supervised'] == pytest.approx(row['median_step_s'] / row['supervised_median_step_s'])
    assert payload['supervised'][0]['batch_size'] == 2
