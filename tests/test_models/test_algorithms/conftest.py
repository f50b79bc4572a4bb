"""The real nuScenes keyframe as a pre-training batch for the algorithm tests (no pipeline needed)."""

import pytest

from mmssl.testing.synthetic_batch import nuscenes_keyframe_batch


@pytest.fixture(scope='module')
def nsmae_batch(nuscenes_demo_dir):
    """The keyframe at the tiny configs' 128x352 image size, without labels."""
    return nuscenes_keyframe_batch(nuscenes_demo_dir, (128, 352), with_gt=False)


@pytest.fixture(scope='module')
def nsmae_batch_2cams(nuscenes_demo_dir):
    """The keyframe with its first two cameras only (cheaper, for the 50-step test)."""
    return nuscenes_keyframe_batch(nuscenes_demo_dir, (128, 352), with_gt=False, num_cams=2)
