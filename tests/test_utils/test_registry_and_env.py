"""Registries resolve mmssl and scoped OpenMMLab types; collect_env reports the stack."""

import sys

from mmssl.registry import HOOKS, MODELS, OPTIM_WRAPPERS, RUNNERS
from mmssl.testing.runs import run_tool


def test_scoped_types_resolve_from_mmssl_registry():
    from mmengine.registry import DefaultScope

    assert DefaultScope.get_current_instance().scope_name == 'mmssl'
    assert MODELS.scope == 'mmssl' and MODELS.parent.scope == 'mmengine'
    center_point = MODELS.get('mmdet3d.CenterPoint')
    assert center_point.__module__.startswith('mmdet3d.models')
    assert MODELS.get('mmdet.ResNet').__name__ == 'ResNet'
    assert HOOKS.get('ComputeStatsHook').__module__ == 'mmssl.engine.hooks.compute_stats_hook'
    assert OPTIM_WRAPPERS.get('AutocastOptimWrapper').__name__ == 'AutocastOptimWrapper'
    assert RUNNERS.get('StagedRunner').__name__ == 'StagedRunner'


def test_collect_env_reports_pinned_stack():
    out = run_tool(['-m', 'mmssl.utils.collect_env']).stdout
    lines = dict(line.split(': ', 1) for line in out.splitlines() if ': ' in line)
    assert lines['torch'] == '2.9.1' and lines['mmengine'] == '0.10.7' and lines['mmcv'] == '2.1.0'
    assert lines['mmdet3d'] == '1.4.0' and lines['spconv'] == '2.3.8'
    assert lines['mmcv ops compiled'] == 'yes' and lines['spconv 2 available (mmdet3d)'] == 'True'
    assert lines['CUDA available'] in ('True', 'False')
    assert sys.version.startswith(lines['Python'].split()[0])
