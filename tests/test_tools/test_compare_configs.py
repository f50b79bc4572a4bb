"""tools/analysis/compare_configs.py: moved configs compare equal, real changes are named by key."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from mmssl.testing.runs import import_tool

compare_configs = import_tool('tools/analysis/compare_configs.py')

MODEL = "model = dict(type='Toy', depth={depth}, head=dict(channels=[8, 16]))\n"
METHOD = """\
_base_ = ['{base}']
pipeline = [dict(type='Load'), dict(type='Mask', ratio={ratio})]
train_dataloader = dict(batch_size=2, dataset=dict(type='Wrap', dataset=dict(type='D', pipeline=pipeline)))
stages = [dict(name='pretrain', config='{stage}')]
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _old_tree(root: Path) -> None:
    _write(
        root,
        {
            'configs/_base_/models/toy.py': MODEL.format(depth=2),
            'configs/toy_a.py': METHOD.format(
                base='./_base_/models/toy.py', ratio=0.5, stage='configs/toy_a.py'
            ),
            'configs/toy_b.py': "_base_ = ['./toy_a.py']\n",
            'projects/P/configs/p_tiny.py': "model = dict(type='P')\n",
        },
    )


def _new_tree(root: Path, depth: int = 2, ratio: float = 0.5) -> None:
    stage = 'configs/toy/toy_a.py'
    _write(
        root,
        {
            'configs/toy/_base_/toy_a_model.py': MODEL.format(depth=depth),
            'configs/toy/toy_a.py': METHOD.format(base='./_base_/toy_a_model.py', ratio=ratio, stage=stage),
            'configs/toy/toy_b.py': "_base_ = ['./toy_a.py']\n",
            'projects/P/configs/p_tiny.py': "model = dict(type='P')\n",
        },
    )


def _run(tmp_path: Path) -> int:
    return compare_configs.main(
        [str(tmp_path / 'old'), str(tmp_path / 'new'), '--mapping', str(tmp_path / 'map.txt')]
    )


MAPPING = """\
R100\tconfigs/_base_/models/toy.py\tconfigs/toy/_base_/toy_a_model.py
R097\tconfigs/toy_a.py\tconfigs/toy/toy_a.py
configs/toy_b.py configs/toy/toy_b.py
M\tREADME.md
"""


def test_moved_configs_resolve_the_same(tmp_path, capsys):
    _old_tree(tmp_path / 'old')
    _new_tree(tmp_path / 'new')
    (tmp_path / 'map.txt').write_text(MAPPING)
    assert _run(tmp_path) == 0
    out = capsys.readouterr().out
    assert '4 compared: 4 same, 0 different; 0 added, 0 removed, 0 not loadable' in out
    # the stage's config path is a moved file: rewritten, counted, not a difference
    assert (
        '| configs/toy_a.py | configs/toy/toy_a.py | same | same | same | 1 moved path(s) remapped |' in out
    )
    # the pipeline really was split out of the (wrapped) dataloader and compared
    parts = compare_configs.split_parts(compare_configs.load_config(tmp_path / 'new/configs/toy/toy_b.py'))
    assert list(parts['pipelines']) == ['train_dataloader.dataset.dataset.pipeline']
    assert parts['rest']['train_dataloader'] == {
        'batch_size': 2,
        'dataset': {'type': 'Wrap', 'dataset': {'type': 'D'}},
    }


def test_changes_are_reported_by_part_and_key(tmp_path, capsys):
    _old_tree(tmp_path / 'old')
    _new_tree(tmp_path / 'new', depth=3, ratio=0.75)
    (tmp_path / 'new/configs/toy/toy_c.py').write_text('x = 1\n')
    (tmp_path / 'map.txt').write_text(MAPPING)
    code = _run(tmp_path)
    out = capsys.readouterr().out
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith('| configs/toy_b.py'))
    cells = [c.strip() for c in row.strip('|').split('|')]
    # model, dataloader pipeline and the top-level `pipeline` variable (part of the rest)
    assert cells[2:5] == ['DIFF', 'DIFF', 'DIFF']
    keys = 'depth, train_dataloader.dataset.dataset.pipeline[1].ratio, pipeline[1].ratio'
    assert cells[5] == keys + '; 1 moved path(s) remapped'
    # base fragment: only its model changed
    row = next(line for line in out.splitlines() if line.startswith('| configs/_base_/models/toy.py'))
    assert [c.strip() for c in row.strip('|').split('|')][2:6] == ['DIFF', 'same', 'same', 'depth']
    assert '| - | configs/toy/toy_c.py | added |' in out
    assert '4 compared: 1 same, 3 different; 1 added, 0 removed, 0 not loadable' in out


def test_unmapped_move_is_a_removal(tmp_path, capsys):
    _old_tree(tmp_path / 'old')
    _new_tree(tmp_path / 'new')
    (tmp_path / 'map.txt').write_text('configs/toy_a.py configs/toy/toy_a.py\n')
    assert _run(tmp_path) == 1
    out = capsys.readouterr().out
    assert '| configs/toy_b.py | - | removed |' in out
    # its base was not mapped either: the old path stays in the stage list, so the pair differs
    assert '| configs/_base_/models/toy.py | - | removed |' in out


def test_diff_keys_known_answers():
    diff = compare_configs.diff_keys
    assert diff({'a': 1, 'b': [1, 2]}, {'a': 1.0, 'b': [1, 2]}) == []
    assert diff({'a': 1, 'b': [1, 2]}, {'a': 2, 'b': [1, 2, 3], 'c': 0}) == ['a', 'b (len 2 != 3)', 'c (+)']
    assert diff({'a': {'x': True}}, {'a': {'x': 1}}) == ['a.x']
    assert diff({'a': None}, {}) == ['a (-)']


def test_parse_mapping_rejects_malformed_lines():
    assert compare_configs.parse_mapping('C075\ta.py\tb.py\nD\tgone.py\n# note\n\n') == {'a.py': 'b.py'}
    with pytest.raises(ValueError, match='line 1'):
        compare_configs.parse_mapping('only_one_field\n')


def test_mapping_from_git_renames(tmp_path):
    def git(*args, cwd):
        subprocess.run(['git', *args], cwd=cwd, check=True, capture_output=True)

    new = tmp_path / 'new'
    _old_tree(new)
    git('init', '-q', cwd=new)
    git('add', '.', cwd=new)
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'old', cwd=new)
    git('worktree', 'add', '-q', '--detach', str(tmp_path / 'old'), 'HEAD', cwd=new)
    (new / 'configs/toy').mkdir()
    git('mv', 'configs/toy_b.py', 'configs/toy/toy_b.py', cwd=new)
    mapping = compare_configs.git_mapping(tmp_path / 'old', new)
    assert mapping == {'configs/toy_b.py': 'configs/toy/toy_b.py'}
