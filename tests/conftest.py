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


@pytest.fixture(scope='session')
def synthetic_world(tmp_path_factory):
    """A tiny synthetic nuScenes world with MMDet3D v1.1 info files, generated once per session.

    2 scenes x 4 keyframes (v1.0-mini names: scene-0061 is mini_train, scene-0103 mini_val), 2 LiDAR
    sweeps before each keyframe, 6 cameras of 90 x 160 pixels (nuScenes 900 x 1600 scaled by
    1/10), per-camera depth maps under ``root/depth/<CAM>/<image stem>.npy``.

    Returns:
        dict(root=Path, train_info=Path, val_info=Path, version=str).
    """
    from mmssl.datasets.synthetic import create_infos, generate_world

    root = tmp_path_factory.mktemp('synthetic_nuscenes')
    summary = generate_world(
        root,
        scenes=2,
        samples_per_scene=4,
        seed=0,
        img_size=(90, 160),
        save_depth=True,
        workers=1,
        progress=False,
    )
    infos = create_infos(root, summary['version'], quiet=True)
    return dict(root=root, train_info=infos['train'], val_info=infos['val'], version=summary['version'])
