import json
from pathlib import Path

import pytest

from mmssl.testing.runs import import_tool

plot_scalars = import_tool('tools/analysis/plot_scalars.py')


def _run(tmp_path: Path) -> Path:
    vis = tmp_path / '20261201_000000' / 'vis_data'
    vis.mkdir(parents=True)
    rows = [dict(step=i, loss=1.0 / i, collapse_effective_rank=float(i % 3 + 1)) for i in range(1, 7)]
    rows.insert(2, dict(step=2, lr=1e-3))  # a row without the keys is skipped
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    return vis / 'scalars.json'


def test_series_are_read_with_or_without_the_hub_prefix_and_plotted(tmp_path):
    scalars = _run(tmp_path)
    assert plot_scalars.find_scalars(tmp_path) == scalars
    series = plot_scalars.read_series(scalars, ['train/collapse_effective_rank', 'loss'])
    assert series['collapse_effective_rank'] == ([1, 2, 3, 4, 5, 6], [2.0, 3.0, 1.0, 2.0, 3.0, 1.0])
    assert series['loss'][1][3] == pytest.approx(0.25)
    out = plot_scalars.plot(series, tmp_path / 'rank.png', 'AD-L-JEPA')
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_missing_key_and_bad_line_are_named(tmp_path):
    scalars = _run(tmp_path)
    with pytest.raises(ValueError, match="has 'grad_norm'; keys present: .*collapse_effective_rank"):
        plot_scalars.read_series(scalars, ['grad_norm'])
    scalars.write_text('{"step": 1, "loss": 1}\nnot json\n')
    with pytest.raises(ValueError, match='line 2 is not JSON'):
        plot_scalars.read_series(scalars, ['loss'])
    with pytest.raises(FileNotFoundError, match='no \\*/vis_data/scalars.json'):
        plot_scalars.find_scalars(tmp_path / 'empty')
