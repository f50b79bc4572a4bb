"""AD-L-JEPA on the tiny CenterPoint encoders: what each encoder sees, gradients, EMA, hand-off."""

import copy
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.utils import import_modules_from_strings

from mmssl.engine.hooks import TeacherMomentumHook
from mmssl.models.utils import TeacherEMA, load_pretrained
from mmssl.registry import MODELS
from mmssl.testing.synthetic_batch import build_from_config, check_loss_and_gradients, synthetic_lidar_batch

CONFIG = 'configs/adljepa/adljepa_centerpoint_tiny.py'
STRIDE = 4  # 0.2 m voxels -> 0.8 m BEV cells


@pytest.fixture(scope='module')
def lidar_batch():
    return synthetic_lidar_batch(batch_size=2, seed=0)


def _model():
    torch.manual_seed(0)
    return build_from_config(CONFIG)[0]


def test_paper_defaults():
    model = _model()
    assert isinstance(model.teacher, TeacherEMA) and model.teacher_source == 'pts_middle_encoder'
    assert model.teacher.teacher_momentum == pytest.approx(0.996)
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert model.mask_token.shape == model.empty_token.shape == (64,)
    convs = [m for m in model.predictor.layers if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3 and all(c.kernel_size == (3, 3) and c.in_channels == 64 for c in convs)
    assert (model.loss_jepa.alpha_empty, model.loss_jepa.alpha_nonempty) == (0.25, 0.75)
    assert model.loss_reg.gamma is None and model.loss_reg.loss_weight == 1.0  # gamma = 1/sqrt(D)
    m = model.lidar_masker
    assert (m.ratio_nonempty, m.ratio_empty, m.bev_cell_size) == (0.5, 0.5, [0.8, 0.8])


def _record(model):
    """Spy on the encoders' inputs and the masker's draws."""
    calls, masks = [], []
    lidar_bev, forward_batch = model.lidar_bev, model.lidar_masker.forward_batch

    def spy_bev(inputs, batch_size, middle_encoder=None):
        calls.append((inputs['voxels']['coors'].clone(), middle_encoder))
        return lidar_bev(inputs, batch_size, middle_encoder)

    def spy_mask(points, generator=None):
        masks.extend(forward_batch(points, generator))
        return masks[-len(points) :]

    model.lidar_bev, model.lidar_masker.forward_batch = spy_bev, spy_mask
    return calls, masks


def test_context_sees_visible_cells_target_only_masked_nonempty_cells(lidar_batch):
    model = _model()
    calls, masks = _record(model)
    data = model.data_preprocessor(copy.deepcopy(lidar_batch), True)
    model(**data, mode='loss')
    (ctx_coors, ctx_enc), (tgt_coors, tgt_enc) = calls
    assert ctx_enc is None and tgt_enc is model.teacher
    for b, res in enumerate(masks):
        assert int(res.mask_nonempty.sum()) == round(0.5 * int(res.nonempty.sum()))
        assert int(res.mask_empty.sum()) == round(0.5 * int((~res.nonempty).sum()))
        ctx = ctx_coors[ctx_coors[:, 0] == b]
        tgt = tgt_coors[tgt_coors[:, 0] == b]
        # no voxel of a masked cell reaches the context encoder ...
        assert not res.mask_nonempty[ctx[:, 2] // STRIDE, ctx[:, 3] // STRIDE].any()
        # ... and the target encoder sees only voxels of the masked non-empty cells, all of them
        assert res.mask_nonempty[tgt[:, 2] // STRIDE, tgt[:, 3] // STRIDE].all()
        hit = torch.zeros_like(res.mask_nonempty)
        hit[tgt[:, 2] // STRIDE, tgt[:, 3] // STRIDE] = True
        assert torch.equal(hit, res.mask_nonempty)
        assert ctx.shape[0] > 0 and tgt.shape[0] > 0


def test_loss_finite_gradients_on_the_context_side_only(lidar_batch):
    model = _model()
    logs = check_loss_and_gradients(model, copy.deepcopy(lidar_batch))
    assert set(logs) == {'loss_jepa', 'loss_reg', 'cos_dist_empty', 'cos_dist_nonempty', 'reg_target'}
    assert all(torch.isfinite(v) for v in logs.values())
    assert all(p.grad is None for p in model.teacher.parameters())  # the target gets no gradient
    for name in ('pts_middle_encoder.conv_input.0.weight', 'mask_token', 'empty_token'):
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    # the context embedding's L2-normalised cells, the tokens in the masked/visible-empty cells
    batch = model.data_preprocessor(copy.deepcopy(lidar_batch), True)
    masked = model.mask_inputs(batch['inputs'], batch['data_samples'])
    cells = model.bev_cell_masks(masked, batch['data_samples'], 'cpu')
    z = model.context_embedding(model.extract_feat(masked.inputs, batch['data_samples']), cells)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(z.shape[0], *z.shape[2:]))
    token = torch.nn.functional.normalize(model.mask_token, dim=0)
    torch.testing.assert_close(z[:, :, cells.masked_empty[0]][0].T[0], token.detach())


def test_ema_step_and_momentum_schedule(lidar_batch):
    model = _model()
    hook = TeacherMomentumHook(start=0.996, end=1.0, schedule='linear')
    hub = MessageHub.get_instance('test_adljepa_ema')
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    runner = SimpleNamespace(model=model, iter=0, max_iters=100, message_hub=hub)
    w = 'conv_input.0.weight'
    for it in (0, 25, 99):
        opt.zero_grad()
        total, _ = model.parse_losses(
            model(**model.data_preprocessor(copy.deepcopy(lidar_batch), True), mode='loss')
        )
        total.backward()
        opt.step()
        before = model.teacher.module.get_parameter(w).clone()
        runner.iter = it
        hook.after_train_iter(runner, 0)
        m = 0.996 + 0.004 * it / 100  # linear 0.996 -> 1 over training (Sec. IV-B)
        assert model.teacher.teacher_momentum == pytest.approx(m)
        online = model.pts_middle_encoder.get_parameter(w)
        expected = online if it == 0 else m * before + (1 - m) * online  # step 0 copies (MMEngine)
        torch.testing.assert_close(model.teacher.module.get_parameter(w), expected.detach())
    # BN buffers are not averaged: copied from the context encoder
    bn = 'conv_input.1.running_mean'
    assert torch.equal(model.teacher.module.get_buffer(bn), model.pts_middle_encoder.get_buffer(bn))


def test_checkpoint_hands_off_the_context_encoder(tmp_path):
    model = _model()
    with torch.no_grad():
        for p in model.teacher.parameters():
            p.add_(1.0)  # target differs from context: the hand-off must take the context
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'adljepa.pth')
    cfg = Config.fromfile(CONFIG)
    det_cfg = Config.fromfile(cfg.downstream_config)
    import_modules_from_strings(**det_cfg.custom_imports)
    detector = MODELS.build(det_cfg.model)
    report = load_pretrained(
        detector, str(tmp_path / 'adljepa.pth'), det_cfg.model.init_from.prefix_map, strict=True
    )
    assert report.count('loaded') == len(model.pts_middle_encoder.state_dict())
    for key, value in model.pts_middle_encoder.state_dict().items():
        assert torch.equal(detector.pts_middle_encoder.state_dict()[key], value), key


def test_pipeline_masks_give_the_model_path_loss(lidar_batch):
    """BEVGuidedMask in the pipeline (ssl_targets) and the model's masker: one rule, one loss."""
    from mmengine.structures import BaseDataElement

    model = _model().eval()  # eval: BatchNorm statistics do not differ between the two passes
    torch.manual_seed(5)
    results = model.lidar_masker.forward_batch(lidar_batch['inputs']['points'])
    torch.manual_seed(5)
    data = model.data_preprocessor(copy.deepcopy(lidar_batch), True)
    model_path = model(**data, mode='loss')
    piped = copy.deepcopy(lidar_batch)
    piped['inputs']['points'] = [r.visible for r in results]
    for sample, r in zip(piped['data_samples'], results):
        sample.ssl_targets = BaseDataElement(
            masked_points=r.masked,
            bev_mask_nonempty=r.mask_nonempty,
            bev_mask_empty=r.mask_empty,
            bev_nonempty=r.nonempty,
        )
    model.lidar_masker = None
    pipe_path = model(**model.data_preprocessor(piped, True), mode='loss')
    for key, value in model_path.items():
        torch.testing.assert_close(pipe_path[key], value, msg=key)
