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


def test_collect_env_reports_the_running_stack():
    """The report names what is installed and works, checked against the packages themselves."""
    import importlib.metadata as md

    import mmcv
    import mmdet
    import mmdet3d
    import mmengine
    import torch
    from packaging.version import Version

    out = run_tool(['-m', 'mmssl.utils.collect_env']).stdout
    lines = dict(line.split(': ', 1) for line in out.splitlines() if ': ' in line)
    # every version is the one the imported module (and its distribution) reports
    for name, module in (('torch', torch), ('mmengine', mmengine), ('mmcv', mmcv), ('mmdet3d', mmdet3d)):
        assert lines[name] == module.__version__.split('+')[0] == md.version(name).split('+')[0], name
    assert lines['mmdet'] == mmdet.__version__
    assert lines['spconv'] == md.version('spconv')
    # a stack mmdet3d itself accepts (its own bounds, not this machine's pins)
    mmcv_min, mmcv_max = Version(mmdet3d.mmcv_minimum_version), Version(mmdet3d.mmcv_maximum_version)
    assert mmcv_min <= Version(lines['mmcv']) < mmcv_max
    mmdet_min, mmdet_max = Version(mmdet3d.mmdet_minimum_version), Version(mmdet3d.mmdet_maximum_version)
    assert mmdet_min <= Version(lines['mmdet']) <= mmdet_max
    # "ops compiled" means an mmcv op runs: NMS of two boxes overlapping with IoU 0.81 keeps one
    from mmcv.ops import nms

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8]), iou_threshold=0.5)
    assert lines['mmcv ops compiled'] == 'yes' and keep.tolist() == [0]
    from mmdet3d.models.layers.spconv import IS_SPCONV2_AVAILABLE

    assert lines['spconv 2 available (mmdet3d)'] == str(IS_SPCONV2_AVAILABLE) == 'True'
    assert lines['CUDA available'] == str(torch.cuda.is_available())
    assert sys.version.startswith(lines['Python'].split()[0])
