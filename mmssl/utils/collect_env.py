"""Report the software stack: ``python -m mmssl.utils.collect_env``."""

from __future__ import annotations

import importlib
import importlib.metadata as md
from collections import OrderedDict

PACKAGES = (
    'torch',
    'torchvision',
    'mmengine',
    'mmcv',
    'mmdet',
    'mmdet3d',
    'spconv',
    'spconv-cu120',
    'cumm',
    'nuscenes-devkit',
    'timm',
    'open_clip_torch',
    'numpy',
    'openmim',
)


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _importable(module: str) -> str:
    try:
        importlib.import_module(module)
        return 'yes'
    except Exception as e:  # report why, do not hide it
        return f'no ({type(e).__name__}: {e})'


def collect_env() -> OrderedDict:
    """Collect versions and capabilities of the stack mmssl runs on."""
    from mmengine.utils.dl_utils import collect_env as mmengine_collect_env

    import mmssl

    env = OrderedDict(mmengine_collect_env())
    env['mmssl'] = mmssl.__version__
    for dist in PACKAGES:
        version = _version(dist)
        if version is not None:
            env[dist] = version
    env['mmcv ops compiled'] = _importable('mmcv.ops')
    try:
        from mmdet3d.models.layers.spconv import IS_SPCONV2_AVAILABLE

        env['spconv 2 available (mmdet3d)'] = IS_SPCONV2_AVAILABLE
    except Exception as e:
        env['spconv 2 available (mmdet3d)'] = f'no ({type(e).__name__}: {e})'
    import torch

    env['CUDA available'] = torch.cuda.is_available()
    return env


def main() -> None:
    for name, value in collect_env().items():
        print(f'{name}: {value}')


if __name__ == '__main__':
    main()
