"""Config layout (docs/configs.md): unique file names, the naming rule, and mim's file-name search."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest

from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.runs import run_tool

PKG_ROOT = REPO_ROOT / 'mmssl'  # what mim walks: the package, whose .mim/ links to the checkout


def _config_files() -> list[Path]:
    files = list((REPO_ROOT / 'configs').rglob('*.py'))
    for project in (REPO_ROOT / 'projects').glob('*/configs'):
        files.extend(project.rglob('*.py'))
    return sorted(p for p in files if '__pycache__' not in p.parts)


def _method_dirs() -> list[Path]:
    return sorted(p for p in (REPO_ROOT / 'configs').iterdir() if p.is_dir() and p.name != '_base_')


def test_no_two_config_files_share_a_file_name():
    counts = Counter(p.name for p in _config_files())
    assert len(counts) > 20
    assert {name: n for name, n in counts.items() if n > 1} == {}


def test_method_folders_follow_the_naming_rule():
    methods = _method_dirs()
    assert [m.name for m in methods] == sorted(m.name for m in methods) and 'nsmae' in {
        m.name for m in methods
    }
    downstream = {p.name.lower() for p in (REPO_ROOT / 'projects').iterdir() if (p / 'configs').is_dir()}
    assert downstream == {'bevfusion', 'bevdet', 'centerpoint', 'minkunet'}
    for method in methods:
        assert re.fullmatch(r'[a-z0-9]+', method.name), method
        assert (method / 'README.md').is_file(), f'{method} has no README.md'
        assert (method / 'metafile.yml').is_file(), f'{method} has no metafile.yml (machine-readable results)'
        rule = re.compile(rf'{method.name}_({"|".join(sorted(downstream))})(_[a-z0-9-]+)*\.py')
        for cfg in method.glob('*.py'):
            assert rule.fullmatch(cfg.name), f'{cfg.relative_to(REPO_ROOT)} breaks {rule.pattern}'
        for base in method.rglob('_base_/*.py'):
            assert rule.fullmatch(base.name.removesuffix('_model.py') + '.py') and base.name.endswith(
                '_model.py'
            ), f'{base.relative_to(REPO_ROOT)}: method model parts are {{config name}}_model.py'
    assert not list((REPO_ROOT / 'configs').glob('*.py')), 'runnable configs live in configs/<method>/'


def test_model_fragments_end_in_model():
    fragments = list((REPO_ROOT / 'configs/_base_/models').glob('*.py'))
    fragments += list((REPO_ROOT / 'projects').glob('*/configs/_base_/*.py'))
    assert len(fragments) >= 3
    assert [p for p in fragments if not p.name.endswith('_model.py')] == []


# mim is run in subprocesses: importing it loads pip's vendored typing_extensions, which patches
# `typing` for the whole process and breaks later imports of torch._dynamo.
FIND_BY_NAME = """
import json, sys
from mim.utils import recursively_find
print(json.dumps({n: recursively_find(sys.argv[1], n, followlinks=True) for n in sys.argv[2:]}))
"""

MIM_TRAIN = """
import importlib, json, os, sys
train = importlib.import_module('mim.commands.train')  # the module, not the package's function
calls = []
train.get_installed_path = lambda package: sys.argv[1]
train.subprocess.check_output = lambda cmd, **kw: b'--launcher'
train.subprocess.check_call = lambda cmd, **kw: calls.append(cmd) or 0
os.chdir(sys.argv[2])
ok, msg = train.train(package='mmssl', config='configs/nsmae_bevfusion.py', gpus=0, yes=True)
print(json.dumps(dict(ok=ok, msg=msg, calls=calls)))
"""


def test_mim_finds_each_config_by_its_file_name():
    # mim 0.3.9 (mim/commands/train.py): a CONFIG that is not an existing path is searched by
    # file name over the whole package root, following the .mim symlinks
    configs = _config_files()
    out = run_tool(['-c', FIND_BY_NAME, str(PKG_ROOT), *sorted({p.name for p in configs})]).stdout
    found = json.loads(out.splitlines()[-1])
    for cfg in configs:
        assert [os.path.realpath(f) for f in found[cfg.name]] == [os.path.realpath(cfg)], cfg


@pytest.mark.parametrize('inside_clone', [True, False])
def test_documented_mim_command_resolves_the_nsmae_config(inside_clone, tmp_path):
    """`mim train mmssl configs/nsmae_bevfusion.py` runs configs/nsmae/nsmae_bevfusion.py.

    mim's own ``train`` runs up to the subprocess that would start training, with the package
    root pointed at this checkout and the current folder inside or outside the clone.
    """
    cwd = REPO_ROOT if inside_clone else tmp_path
    out = run_tool(['-c', MIM_TRAIN, str(PKG_ROOT), str(cwd)]).stdout
    result = json.loads(out.splitlines()[-1])
    assert result['ok'], result['msg']
    (cmd,) = result['calls']
    assert os.path.realpath(cmd[1]) == str(REPO_ROOT / 'tools' / 'train.py')
    assert cmd[2] == os.path.realpath(REPO_ROOT / 'configs' / 'nsmae' / 'nsmae_bevfusion.py')
