"""RenderVisHook: panel composition and a real 2-iteration run of the tiny NS-MAE config."""

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from mmssl.engine.hooks.render_vis_hook import compose_panel


def test_compose_panel_layout():
    maps = dict(
        per_depth=torch.rand(2, 8, 22) * 30,
        per_depth_target=torch.rand(2, 8, 22) * 30,
        per_rgb=torch.rand(2, 3, 8, 22),
        per_rgb_target=torch.rand(2, 3, 8, 22),
        per_input=torch.rand(2, 3, 8, 22),
        bev_depth=torch.rand(1, 90, 90) * 8,
        bev_depth_target=torch.zeros(1, 90, 90),
    )
    panel = compose_panel(maps)
    assert panel.dtype == np.uint8 and panel.ndim == 3 and panel.shape[2] == 3
    # 2 camera rows (8 px, shown at the 64 px minimum row height) + 1 BEV row of 90 px, each
    # followed by a 2 px separator
    assert panel.shape[0] == (64 + 2) * 2 + 90 + 2
    # a camera row: 5 images of 22 x 8 px scaled to 176 x 64 with 2 px gaps
    assert panel.shape[1] == max(5 * 176 + 4 * 2, 2 * 90 + 2)
    # a missing target renders black
    assert (panel[132:222, 92:182] == 0).all()
    # the rendered BEV depth (values in (0, 8] m) is not black
    assert panel[132:222, :90].any()


def test_compose_panel_needs_a_depth_map():
    with pytest.raises(ValueError, match='no <view>_depth'):
        compose_panel({'per_rgb': torch.rand(1, 3, 4, 4)})


@pytest.mark.parametrize('name', ['bevfusion'])
def test_tiny_config_trains_and_saves_renderings(name, synthetic_world, tmp_path):
    cfg = Config.fromfile(f'configs/nsmae/nsmae_{name}_tiny.py')
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.batch_size = 1
    cfg.train_dataloader.dataset.data_root = str(synthetic_world['root'])
    cfg.train_dataloader.dataset.ann_file = str(synthetic_world['train_info'])
    cfg.train_cfg.max_iters = 2
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.custom_hooks = [dict(type='RenderVisHook', interval=2, stride=4)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = [h for h in runner.hooks if type(h).__name__ == 'RenderVisHook'][0]
    assert [p.split('/')[-1] for p in hook.saved] == ['iter_1.png', 'iter_2.png']
    img = np.asarray(Image.open(hook.saved[-1]))
    assert img.ndim == 3 and img.std() > 0
    scalars = (tmp_path / runner.timestamp / 'vis_data' / 'scalars.json').read_text()
    for key in ('loss_rgb', 'loss_depth_per', 'loss_depth_bev', 'rgb_mse'):
        assert key in scalars
    assert (tmp_path / runner.timestamp / 'vis_data' / 'vis_image').exists()

    # pre-train -> save -> fine-tune handoff: the downstream detector's encoders take the
    # pre-trained weights with an identity prefix map, strictly (no missing/unexpected keys)
    from mmengine.utils import import_modules_from_strings

    from mmssl.models.utils.pretrained_init import load_pretrained
    from mmssl.registry import MODELS

    det_cfg = Config.fromfile(cfg.downstream_config)
    import_modules_from_strings(**det_cfg.custom_imports)
    detector = MODELS.build(det_cfg.model)
    encoders = ['img_backbone.', 'img_neck.', 'view_transform.', 'pts_voxel_encoder.', 'pts_middle_encoder.']
    load_pretrained(detector, str(tmp_path / 'iter_2.pth'), {p: p for p in encoders}, strict=True)
    pre = runner.model.state_dict()
    det = detector.state_dict()
    keys = [k for k in pre if any(k.startswith(p) for p in encoders)]
    assert len(keys) > 100
    for k in keys:
        assert torch.equal(det[k], pre[k].cpu()), k
