"""Activation checkpointing (``with_cp=True``) of the image backbones mmssl configs use."""

import copy

import torch

from mmssl.registry import MODELS


def test_resnet_with_cp_matches_plain_forward_and_grads():
    cfg = dict(
        type='mmdet.ResNet',
        depth=18,
        num_stages=4,
        out_indices=(1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
    )
    torch.manual_seed(0)
    plain = MODELS.build(cfg)
    ckpt = MODELS.build(dict(cfg, with_cp=True))
    ckpt.load_state_dict(copy.deepcopy(plain.state_dict()))
    plain.train(), ckpt.train()
    x = torch.randn(2, 3, 64, 96)
    outs_plain, outs_cp = plain(x.clone().requires_grad_()), ckpt(x.clone().requires_grad_())
    for a, b in zip(outs_plain, outs_cp):
        torch.testing.assert_close(a, b)
    sum(o.square().mean() for o in outs_plain).backward()
    sum(o.square().mean() for o in outs_cp).backward()
    for (name, p), q in zip(plain.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert all(blk.with_cp for blk in ckpt.layer1)
