"""World generation is crash-safe: staged, published by rename with a completeness marker."""

from __future__ import annotations

import json
from pathlib import Path

import mmengine
import pytest

from mmssl.datasets.synthetic import publish
from mmssl.datasets.synthetic.publish import COMPLETE_MARKER, publish_world, staging_dir, world_is_complete
from mmssl.testing.runs import import_tool

REPO = Path(__file__).resolve().parents[2]
ARGS = [
    '--scenes',
    '1',
    '--samples-per-scene',
    '2',
    '--img-size',
    '24',
    '40',
    '--lidar-azimuth-steps',
    '60',
    '--objects-per-scene',
    '5',
    '--sweeps-per-sample',
    '1',
    '--workers',
    '1',
]


def _tool():
    return import_tool('tools/create_synthetic_nuscenes.py', '_tool_create_synthetic')


def test_publish_replaces_an_incomplete_world_and_cleans_stale_stages(tmp_path):
    out = tmp_path / 'world'
    out.mkdir()
    (out / 'nuscenes_infos_train.pkl').write_bytes(b'legacy v1.0 file of a killed run')
    assert not world_is_complete(out)
    stale = tmp_path / '.world.partial-999999'
    stale.mkdir()
    stage = staging_dir(out)
    assert not stale.exists() and stage.parent == tmp_path and stage.name.startswith('.world.partial-')
    (stage / 'data.txt').write_text('new')
    publish_world(stage, out, dict(samples=2))
    assert world_is_complete(out) and json.loads((out / COMPLETE_MARKER).read_text()) == dict(samples=2)
    assert sorted(p.name for p in out.iterdir()) == sorted([COMPLETE_MARKER, 'data.txt'])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['world']  # no staging or old folders left


def test_killed_generation_leaves_no_world_and_rerun_publishes(tmp_path, monkeypatch):
    tool = _tool()
    out = tmp_path / 'synthetic-nuscenes'

    class Killed(BaseException):
        pass

    def dying_publish(*args, **kwargs):
        raise Killed  # "killed" after generation and info conversion, before publishing

    monkeypatch.setattr(tool, 'publish_world', dying_publish)
    with pytest.raises(Killed):
        tool.main(['--out', str(out), *ARGS])
    assert not out.exists()  # nothing half-written under the final name
    assert [p.name.startswith('.synthetic-nuscenes.partial-') for p in tmp_path.iterdir()] == [True]
    monkeypatch.setattr(tool, 'publish_world', publish_world)
    tool.main(['--out', str(out), *ARGS])
    assert world_is_complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['synthetic-nuscenes']  # stale stage removed
    marker = json.loads((out / COMPLETE_MARKER).read_text())
    assert marker['samples'] == 2 and marker['infos']['train'] == str(out / 'nuscenes_infos_train.pkl')
    train = mmengine.load(out / 'nuscenes_infos_train.pkl')
    assert train['metainfo']['info_version'] == '1.1' and len(train['data_list']) == 2
    assert '.partial-' not in repr(train)  # no path into the staging folder
    assert publish.COMPLETE_MARKER == COMPLETE_MARKER


def test_makefile_data_target_checks_the_marker():
    text = (REPO / 'Makefile').read_text()
    rule = text[text.index('\ndata:') :].split('\n\n')[0]
    assert f'$(SYNTH)/{COMPLETE_MARKER} ]' in rule and 'create_synthetic_nuscenes.py' in rule
