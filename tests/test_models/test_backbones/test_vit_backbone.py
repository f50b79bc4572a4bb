"""The DINOv2 image backbone: the teacher's features from the same file, CNN-like strides, LoRA."""

from pathlib import Path

import pytest
import timm
import torch
from peft.tuners.lora import LoraLayer

from mmssl.models.backbones import DINOv2ImageBackbone
from mmssl.models.finetune import merge_lora, trainable_summary
from mmssl.registry import MODELS
from mmssl.testing.finetune import bev_features, changed_keys, optimizer_step, small_detector_batch, snapshot
from mmssl.testing.synthetic_batch import build_from_config

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / 'projects/BEVDet/configs/bevdet_dinov2_lora_tiny_synthetic.py'
TINY_VIT = dict(embed_dim=32, depth=4, num_heads=2)


@pytest.fixture(scope='module')
def vit_file(tmp_path_factory):
    torch.manual_seed(0)
    vit = timm.create_model(
        'vit_small_patch14_dinov2', pretrained=False, img_size=518, num_classes=0, **TINY_VIT
    )
    path = tmp_path_factory.mktemp('vit') / 'tiny_dinov2.pth'
    torch.save(dict(vit.state_dict(), mask_token=torch.zeros(1, 32)), path)  # the official layout
    return path


def test_tokens_equal_the_frozen_teacher_on_the_same_file(vit_file):
    backbone = DINOv2ImageBackbone(
        checkpoint=str(vit_file),
        input_size=(28, 42),
        out_indices=(1, -1),
        out_strides=(14, 14),
        arch_kwargs=TINY_VIT,
    ).eval()
    assert backbone.layout == 'official DINOv2' and backbone.out_channels == 32
    teacher = MODELS.build(
        dict(type='DINOv2Teacher', checkpoint=str(vit_file), input_size=(28, 42), arch_kwargs=TINY_VIT,
             dtype='fp32', after_norm=True)
    )  # fmt: skip
    x = torch.randn(3, 3, 28, 42)
    with torch.no_grad():
        mid, last = backbone(x)
        assert last.shape == (3, 32, 2, 3) and mid.shape == last.shape
        torch.testing.assert_close(last, teacher.patch_features(x))
        assert not torch.allclose(mid, last)


def test_maps_come_at_the_requested_strides_of_any_image_size(vit_file):
    backbone = DINOv2ImageBackbone(
        checkpoint=str(vit_file), input_size=(28, 84), out_indices=(1, 2, 3), out_strides=(8, 16, 32),
        arch_kwargs=TINY_VIT,
    )  # fmt: skip
    maps = backbone(torch.randn(2, 3, 128, 352, requires_grad=True))
    assert [tuple(m.shape) for m in maps] == [(2, 32, 16, 44), (2, 32, 8, 22), (2, 32, 4, 11)]
    maps[0].sum().backward()
    assert backbone.vit.blocks[0].attn.qkv.weight.grad.abs().sum() > 0  # trainable, unlike the teacher
    with pytest.raises(ValueError, match='multiples of 14'):
        DINOv2ImageBackbone(input_size=(30, 42), arch_kwargs=TINY_VIT)
    with pytest.raises(ValueError, match='out of range'):
        DINOv2ImageBackbone(input_size=(28, 42), out_indices=(9,), arch_kwargs=TINY_VIT)


def _lora_bevdet(vit_file):
    torch.manual_seed(0)
    backbone = dict(
        type='DINOv2ImageBackbone', arch='vit_small_patch14_dinov2', checkpoint=str(vit_file),
        input_size=(28, 84), out_indices=(1, 2, 3), out_strides=(8, 16, 32), arch_kwargs=TINY_VIT,
    )  # fmt: skip
    return build_from_config(
        CONFIG,
        img_backbone=backbone,
        img_neck=dict(type='GeneralizedLSSFPN', in_channels=[32] * 3, out_channels=32),
    )


def test_lora_trains_only_the_attention_adapters_of_the_vit_and_merges(vit_file):
    model, cfg = _lora_bevdet(vit_file)
    wrapped = [n for n, m in model.named_modules() if isinstance(m, LoraLayer)]
    assert sorted(wrapped) == sorted(
        f'img_backbone.vit.blocks.{i}.attn.{p}' for i in range(4) for p in ('qkv', 'proj')
    )
    vit_trainable = [
        n for n, p in model.named_parameters() if n.startswith('img_backbone.') and p.requires_grad
    ]
    assert vit_trainable and all('.lora_' in n for n in vit_trainable)
    rows = {r['module']: r for r in trainable_summary(model)}
    # rank 16 adapters on 32-wide projections: (32 + 96) * 16 + (32 + 32) * 16 = 3072 per block
    assert rows['img_backbone']['trainable'] == 4 * 3072
    assert rows['img_neck']['share'] == 1.0 and rows['bbox_head']['share'] == 1.0
    batch = small_detector_batch(cfg)
    before = snapshot(model)
    optimizer_step(model, batch)
    changed = changed_keys(before, snapshot(model))
    vit_changed = {k for k in changed if k.startswith('img_backbone.')}
    assert vit_changed and all('.lora_' in k for k in vit_changed)  # the ViT's own weights never move
    assert any(k.startswith('img_neck.') for k in changed)
    unmerged = bev_features(model, batch)
    merge_lora(model)
    assert not any(isinstance(m, LoraLayer) for m in model.modules())
    for a, b in zip(bev_features(model, batch), unmerged):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
