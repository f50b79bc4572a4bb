"""BEVDistill: the foreground Gaussians, the three terms' known answers, the CenterHead helpers,
the frozen teacher and its checkpoint checks, and a training step on the real keyframe."""

import math

import pytest
import torch
from mmdet3d.models.utils import draw_heatmap_gaussian, gaussian_radius
from mmdet3d.structures import LiDARInstance3DBoxes
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmengine.utils import import_modules_from_strings

from mmssl.models.algorithms.bevdistill import sample_teacher
from mmssl.models.heads.center_head_utils import anno_box, heatmap_peaks, peaks_to_boxes, task_order
from mmssl.models.losses import ForegroundMSELoss, InfoNCELoss, ScoreWeightedL1Loss, SoftFocalLoss
from mmssl.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.synthetic_batch import build_from_config, check_loss_and_gradients, nuscenes_keyframe_batch

CFG = REPO_ROOT / 'configs/bevdistill/bevdistill_bevdet_tiny.py'
TEACHER_CFG = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'


def _write_teacher(path, seed=0):
    cfg = Config.fromfile(str(REPO_ROOT / TEACHER_CFG))
    import_modules_from_strings(**cfg.custom_imports)
    torch.manual_seed(seed)
    teacher = MODELS.build(cfg.model)
    teacher.init_weights()
    torch.save({'meta': {}, 'state_dict': teacher.state_dict()}, path)
    return teacher


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('teacher') / 'centerpoint_tiny_random.pth'
    _write_teacher(path)
    return str(path)


def _model(ckpt, **overrides):
    tg = dict(type='DetectorTeacher', config=TEACHER_CFG, checkpoint=ckpt)
    model, cfg = build_from_config(CFG, target_generator=tg, **overrides)
    return model, cfg


@pytest.fixture(scope='module')
def distill(teacher_ckpt):
    return _model(teacher_ckpt)


def _boxes(rows):
    return LiDARInstance3DBoxes(torch.tensor(rows, dtype=torch.float32), box_dim=9, origin=(0.5, 0.5, 0.5))


def test_config_terms_are_the_official_settings(distill):
    model, _ = distill
    assert model.dense_feature == 'shared' and model.dense_loss.loss_weight == 0.01
    assert model.dense_cfg == dict(min_overlap=0.1, min_radius=1)
    assert model.instance_cfg == dict(num_instances=100)
    assert (model.instance_loss.temperature, model.instance_loss.loss_weight) == (0.07, 0.2)
    assert model.student_proj[0].out_features == 128  # the tiny config's one change (official: 512)
    assert model.response_cfg == dict(top_k=50)
    assert (model.response_box_loss.loss_weight, model.response_box_loss.score_power) == (0.25, 1.0)
    assert model.response_heatmap_loss.loss_weight == 0.0


def test_foreground_weights_equal_mmdet3d_draw_heatmap_gaussian(distill):
    model, _ = distill
    cfg = model.student.bbox_head.train_cfg
    shape = (int(cfg['grid_size'][1]) // 4, int(cfg['grid_size'][0]) // 4)  # (Y, X) = (64, 32)
    assert shape == (64, 32)
    gt = InstanceData()
    # a car, a pedestrian (radius clamps to 1), a bus overlapping the car, one box out of range
    gt.bboxes_3d = _boxes(
        [
            [3.1, 10.2, 0.0, 4.5, 1.9, 1.6, 0.3, 0, 0],
            [-12.0, -30.5, 0.0, 0.7, 0.7, 1.8, 0.0, 0, 0],
            [5.0, 12.0, 0.0, 11.0, 2.9, 3.4, 1.2, 0, 0],
            [40.0, 0.0, 0.0, 4.0, 2.0, 1.5, 0.0, 0, 0],
        ]
    )
    gt.labels_3d = torch.tensor([0, 8, 3, 0])
    ours = model.foreground_weights([gt], shape)[0]
    ref = torch.zeros(shape)
    pc, vs, osf = cfg['point_cloud_range'], cfg['voxel_size'], cfg['out_size_factor']
    for box in torch.cat([gt.bboxes_3d.gravity_center, gt.bboxes_3d.tensor[:, 3:]], dim=1):
        cx, cy = (box[0] - pc[0]) / vs[0] / osf, (box[1] - pc[1]) / vs[1] / osf
        if not (0 <= int(cx) < shape[1] and 0 <= int(cy) < shape[0]):
            continue
        w, length = box[3] / vs[0] / osf, box[4] / vs[1] / osf
        radius = max(1, int(gaussian_radius((length, w), min_overlap=0.1)))
        draw_heatmap_gaussian(ref, torch.tensor([cx, cy]).to(torch.int32), radius)
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=0)
    assert ours.max() == 1 and (ours > 0).sum() > 9  # peaks at the centres, background 0
    assert (ours[:, :2] == 0).all()  # nothing near x = -25.6 m


def test_dense_loss_is_the_weighted_squared_error_over_the_weight_sum():
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    w = torch.rand(2, 4, 5) * (torch.rand(2, 4, 5) > 0.5)
    ref = (
        sum(
            w[b, y, x] * sum((s[b, c, y, x] - t[b, c, y, x]) ** 2 for c in range(3))
            for b in range(2)
            for y in range(4)
            for x in range(5)
        )
        / w.sum()
    )
    torch.testing.assert_close(ForegroundMSELoss(0.01)(s, t, w), 0.01 * ref)
    assert ForegroundMSELoss()(s, t, torch.zeros(2, 4, 5)) == 0
    with pytest.raises(ValueError, match='must be'):
        ForegroundMSELoss()(s, t[:, :2], w)


def test_infonce_equals_a_hand_computation():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    k = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    qn = [[x / math.hypot(*r) for x in r] for r in q.tolist()]
    kn = [[x / math.hypot(*r) for x in r] for r in k.tolist()]
    total = 0.0
    for i in range(3):
        logits = [sum(a * b for a, b in zip(qn[i], kn[j])) / 0.07 for j in range(3)]
        total += -logits[i] + math.log(sum(math.exp(v) for v in logits))
    torch.testing.assert_close(InfoNCELoss(0.07, 0.2)(q, k), torch.tensor(0.2 * total / 3))
    assert InfoNCELoss()(q[:0], k[:0]) == 0


def test_score_weighted_l1_and_soft_focal_known_answers():
    pred = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    target = torch.tensor([[0.0, 0.0], [1.0, -1.0]])
    scores = torch.tensor([0.5, 0.25])
    cw = torch.tensor([1.0, 0.5])
    # errors: row 0 = 1 + 2 * 0.5 = 2, row 1 = 1 + 0.5 = 1.5; sum of scores 0.75
    torch.testing.assert_close(
        ScoreWeightedL1Loss(1.0)(pred, target, scores, cw), torch.tensor((0.5 * 2 + 0.25 * 1.5) / 0.75)
    )
    torch.testing.assert_close(
        ScoreWeightedL1Loss(1.0, score_power=2)(pred, target, scores, cw),
        torch.tensor((0.25 * 2 + 0.0625 * 1.5) / 0.75),
    )
    p, t = torch.tensor([0.8, 0.1]), torch.tensor([0.5, 0.0])
    ref = (0.3**2) * -(0.5 * math.log(0.8) + 0.5 * math.log(0.2)) + (0.1**2) * -math.log(0.9)
    torch.testing.assert_close(SoftFocalLoss(2.0)(p, t, 2.0), torch.tensor(2.0 * ref / 2.0))
    assert SoftFocalLoss(1.0)(t.clamp(1e-6, 1 - 1e-6), t.clamp(1e-6, 1 - 1e-6), 1.0) < 1e-6


def _two_task_head():
    return MODELS.build(
        dict(
            type='mmdet3d.CenterHead',
            in_channels=8,
            tasks=[dict(num_class=1, class_names=['car']), dict(num_class=2, class_names=['truck', 'bus'])],
            common_heads=dict(reg=(2, 2), height=(1, 2), dim=(3, 2), rot=(2, 2), vel=(2, 2)),
            share_conv_channel=8,
            bbox_coder=dict(
                type='mmdet3d.CenterPointBBoxCoder',
                post_center_range=[-60, -60, -10, 60, 60, 10],
                max_num=50,
                score_threshold=0.0,
                out_size_factor=4,
                voxel_size=[0.2, 0.2],
                pc_range=[-25.6, -25.6],
                code_size=9,
            ),
            separate_head=dict(type='mmdet3d.SeparateHead', init_bias=-2.19, final_kernel=3),
            loss_cls=dict(type='mmdet.GaussianFocalLoss', reduction='mean'),
            loss_bbox=dict(type='mmdet.L1Loss', reduction='mean', loss_weight=0.25),
            norm_bbox=True,
            train_cfg=dict(
                grid_size=[256, 256, 1],
                point_cloud_range=[-25.6, -25.6, -5.0, 25.6, 25.6, 3.0],
                voxel_size=[0.2, 0.2, 8.0],
                out_size_factor=4,
                dense_reg=1,
                gaussian_overlap=0.1,
                max_objs=20,
                min_radius=2,
                code_weights=[1.0] * 10,
            ),
        )
    )


def test_task_order_and_peaks_round_trip_centerhead_targets():
    head = _two_task_head()
    inst = InstanceData()
    rows = [
        [5.3, -2.1, -1.0, 4.0, 1.8, 1.5, 0.4, 1.0, 0.5],  # car
        [-7.7, 9.9, -0.5, 10.0, 2.8, 3.2, -1.1, 0.0, 0.0],  # bus
        [12.2, 3.3, -0.8, 6.0, 2.5, 2.8, 2.0, -2.0, 0.1],  # truck
        [-3.0, -14.4, -1.2, 4.4, 1.9, 1.6, 0.0, 0.0, 0.0],  # car
    ]
    inst.bboxes_3d = _boxes(rows)
    inst.labels_3d = torch.tensor([0, 2, 1, 0])
    order = task_order(inst.labels_3d, head.class_names)
    assert [o.tolist() for o in order] == [[0, 3], [2, 1]]  # class by class within a task
    heatmaps, boxes, inds, masks = head.get_targets([inst])
    for t, idx in enumerate(order):
        for slot, box in enumerate(idx.tolist()):
            # slot `slot` of task t holds box `box`: its height target is the box's gravity z
            torch.testing.assert_close(boxes[t][0, slot, 2], inst.bboxes_3d.gravity_center[box, 2])
    # dense predictions that are the targets: the peaks decode back to the boxes
    preds = []
    for t in range(2):
        c = len(head.class_names[t])
        heat = torch.full((1, c, 64, 64), -10.0)
        reg = torch.zeros(1, 10, 64 * 64)
        for slot in range(len(order[t])):
            cell = inds[t][0, slot]
            label = inst.labels_3d[order[t][slot]] - (1 if t else 0)
            heat[0, label].view(-1)[cell] = 5.0
            reg[0, :, cell] = boxes[t][0, slot]
        reg = reg.view(1, 10, 64, 64)
        preds.append(
            dict(
                heatmap=heat,
                reg=reg[:, :2],
                height=reg[:, 2:3],
                dim=reg[:, 3:6],
                rot=reg[:, 6:8],
                vel=reg[:, 8:],
            )
        )
    torch.testing.assert_close(anno_box(preds[0])[:, :, 0, 0], torch.zeros(1, 10))
    peaks = heatmap_peaks(preds, 4)
    assert sorted(peaks.labels[0].tolist()) == [0, 0, 1, 2]
    decoded = peaks_to_boxes(peaks, [-25.6, -25.6], [0.2, 0.2], 4, norm_bbox=True)[0]
    expected = torch.cat([inst.bboxes_3d.gravity_center, inst.bboxes_3d.tensor[:, 3:]], dim=1)
    for box, label in zip(decoded, peaks.labels[0]):
        match = [
            i
            for i in range(4)
            if int(inst.labels_3d[i]) == int(label) and (expected[i, :2] - box[:2]).abs().max() < 1e-4
        ]
        assert len(match) == 1
        torch.testing.assert_close(box, expected[match[0]], atol=1e-4, rtol=1e-4)


def test_teacher_map_is_sampled_in_metres():
    # teacher: 0.8 m cells over [0, 6.4) m; student: 1.6 m cells over the same range
    teacher = torch.arange(64.0).view(1, 1, 8, 8)
    geom_t, geom_s = ([0.0, 0.0], [0.8, 0.8]), ([0.0, 0.0], [1.6, 1.6])
    centres = torch.stack(torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing='xy'), dim=-1) + 0.5
    out = sample_teacher(teacher, centres[None], geom_t, geom_s)
    torch.testing.assert_close(out, torch.nn.functional.avg_pool2d(teacher, 2))  # the 2 x 2 means
    # a teacher grid shifted by one teacher cell: the same point reads the neighbouring cell
    shifted = sample_teacher(teacher, torch.tensor([[[[0.75, 0.25]]]]), ([0.8, 0.0], [0.8, 0.8]), geom_s)
    torch.testing.assert_close(shifted, teacher[..., 0:1, 0:1])


def test_teacher_checkpoint_is_required_and_checked(tmp_path, teacher_ckpt):
    with pytest.raises(ValueError, match='no teacher checkpoint'):
        MODELS.build(dict(type='DetectorTeacher', config=TEACHER_CFG, checkpoint=None))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        MODELS.build(dict(type='DetectorTeacher', config=TEACHER_CFG, checkpoint=str(tmp_path / 'none.pth')))
    state = torch.load(teacher_ckpt, weights_only=False)['state_dict']
    wrong = dict(state)
    wrong.pop('pts_bbox_head.shared_conv.conv.weight')
    wrong['extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': wrong}, tmp_path / 'wrong.pth')
    with pytest.raises(ValueError, match=r'1 missing keys.*shared_conv.*1 unexpected'):
        MODELS.build(dict(type='DetectorTeacher', config=TEACHER_CFG, checkpoint=str(tmp_path / 'wrong.pth')))
    teacher = MODELS.build(dict(type='DetectorTeacher', config=TEACHER_CFG, checkpoint=teacher_ckpt))
    assert teacher.key_report['missing'] == [] and teacher.key_report['loaded'] == len(state)
    for key, value in teacher.detector.state_dict().items():
        assert torch.equal(value, state[key]), key  # spconv kernels included (layout kept)


def test_training_step_on_the_real_keyframe(distill, teacher_ckpt, nuscenes_demo_dir):
    model, cfg = distill
    teacher_before = {k: v.clone() for k, v in model.target_generator.state_dict().items()}
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=tuple(cfg.image_size), batch_size=2)
    losses = check_loss_and_gradients(model, batch)
    for key in (
        'loss_distill_dense',
        'loss_distill_instance',
        'loss_distill_response_box',
        'task0.loss_heatmap',
    ):
        assert key in losses and torch.isfinite(losses[key]) and losses[key] > 0, key
    assert losses['distill_fg_weight'] > 0
    # InfoNCE of 2 x 100 instances starts near log(200) (random projections)
    assert abs(losses['loss_distill_instance'] / 0.2 - math.log(200)) < 1.0
    # the teacher: frozen, eval mode, no gradient, not in the optimizer, not saved
    assert not model.target_generator.training and all(
        p.grad is None and not p.requires_grad for p in model.target_generator.parameters()
    )
    wrapper_cfg = {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=cfg.optim_wrapper.constructor, optim_wrapper_cfg=wrapper_cfg)
    )
    wrapper = ctor(model)
    in_opt = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert not in_opt & {id(p) for p in model.target_generator.parameters()}
    assert {id(p) for p in model.student.parameters()} <= in_opt
    state = model.state_dict()
    assert state and not [k for k in state if k.startswith('target_generator.')]
    assert all(k.startswith(('student.', 'dense_adapter.', 'student_proj.', 'teacher_proj.')) for k in state)
    for key, value in model.target_generator.state_dict().items():
        assert torch.equal(value, teacher_before[key])
    # predictions come from the student alone
    model.eval()
    with torch.no_grad():
        out = model.test_step(batch)
    assert out[0].pred_instances_3d.bboxes_3d.tensor.shape[1] == 9


def test_camera_only_bevfusion_student_on_the_teachers_grid(teacher_ckpt, nuscenes_demo_dir):
    tg = dict(type='DetectorTeacher', config=TEACHER_CFG, checkpoint=teacher_ckpt)
    model, cfg = build_from_config(
        REPO_ROOT / 'configs/bevdistill/bevdistill_bevfusion_tiny.py', target_generator=tg
    )
    assert not model.student.with_lidar and model.student.fusion_layer is None
    (t_org, t_cell), (s_org, s_cell) = model._geometries()
    assert (t_org, t_cell) == (s_org, s_cell) == ([-25.6, -51.2], [0.8, 0.8])  # one grid: no resampling
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=tuple(cfg.image_size))
    losses = check_loss_and_gradients(model, batch)
    assert losses['loss_distill_dense'] > 0 and losses['loss_distill_response_box'] > 0


def test_terms_switch_off_by_config(teacher_ckpt, nuscenes_demo_dir):
    model, cfg = _model(teacher_ckpt, dense=None, instance=None, response=None)
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=tuple(cfg.image_size), num_cams=6)
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert not [k for k in losses if 'distill' in k] and 'task0.loss_heatmap' in losses
    # the official double score weighting and the heatmap term are options
    model, _ = _model(
        teacher_ckpt,
        dense=None,
        instance=None,
        response=dict(
            top_k=10,
            box_loss=dict(type='ScoreWeightedL1Loss', loss_weight=0.25, score_power=2.0),
            heatmap_loss=dict(type='SoftFocalLoss', loss_weight=1.0),
        ),
    )
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert losses['loss_distill_response_heatmap'] > 0 and losses['loss_distill_response_box'] > 0
    assert model.response_box_loss.score_power == 2.0


def test_student_checkpoint_initialises_a_plain_bevdet(distill, tmp_path):
    model, _ = distill
    path = tmp_path / 'bevdistill.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    plain, _ = build_from_config(
        REPO_ROOT / 'projects/BEVDet/configs/bevdet_tiny_synthetic.py',
        init_from=dict(checkpoint=str(path), prefix_map={'student.': ''}, strict=False),
    )
    for key, value in model.student.state_dict().items():
        assert torch.equal(plain.state_dict()[key], value), key
