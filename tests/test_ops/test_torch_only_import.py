"""mmssl.ops and mmssl.geometry import and run with torch alone (no OpenMMLab package importable)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import sys
for name in ('mmengine', 'mmcv', 'mmdet', 'mmdet3d', 'spconv'):
    sys.modules[name] = None  # any import of them now raises ImportError
import torch
from mmssl.geometry import compose_lidar2img, depth_maps, voxel_coords
from mmssl.ops import bev_pool, hard_voxelize
from mmssl.ops.masking import exact_random_mask
from mmssl.ops.rays import perspective_rays
from mmssl.ops.volume_rendering import nerf_alpha, volume_render
from mmssl.ops.sdf_rendering import neus_alpha, trilinear_sample
k = torch.tensor([[10.0, 0, 8], [0, 10, 6], [0, 0, 1]])
l2c = torch.tensor([[0.0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
m = compose_lidar2img(k, l2c)
d = depth_maps(torch.tensor([[5.0, 0.0, 0.0]]), m[None], (12, 16))
o, r = perspective_rays(m, torch.tensor([[8.5, 6.5]]))
t = torch.linspace(0.5, 10, 20)[None]
out = volume_render(nerf_alpha(torch.ones(1, 20), torch.full((1, 20), 0.5)), t)
assert d[0, 6, 8] == 5.0 and int(exact_random_mask(10, 0.3).sum()) == 3
print('ok', sorted(n for n in ('mmengine', 'mmdet3d') if sys.modules.get(n) is not None))
"""


def test_ops_and_geometry_need_only_torch():
    proc = subprocess.run(
        [sys.executable, '-c', _SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={'PYTHONPATH': str(REPO), 'PATH': '/usr/bin:/bin'},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == 'ok []'
