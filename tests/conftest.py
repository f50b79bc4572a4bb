"""Suite-wide fixtures: registries, real-data locations."""

import pytest

from mmssl.testing import require_shared_data


@pytest.fixture(scope='session', autouse=True)
def _register_modules():
    from mmssl.utils import register_all_modules

    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def nuscenes_demo_dir():
    """The real multi-camera nuScenes keyframe of ../shared/data/nuscenes_demo."""
    return require_shared_data('nuscenes_demo')


@pytest.fixture(scope='session')
def kitti_demo_dir():
    """The real KITTI frame of ../shared/data/kitti_demo."""
    return require_shared_data('kitti_demo')
