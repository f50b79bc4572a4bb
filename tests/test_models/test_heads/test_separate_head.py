import math

import pytest
import torch

from mmssl.models.heads import CenterSeparateHead

HEADS = dict(reg=(2, 2), height=(1, 2), dim=(3, 2), rot=(2, 2), vel=(2, 2), heatmap=(10, 2))


def _head(heatmap_init: str) -> CenterSeparateHead:
    torch.manual_seed(0)
    head = CenterSeparateHead(
        heatmap_init=heatmap_init, in_channels=32, heads=HEADS, head_conv=32, final_kernel=3, init_bias=-2.19
    )
    head.init_weights()
    return head


def test_pytorch_heatmap_init_keeps_default_bounds_and_prior_bias():
    head = _head('pytorch')
    last = head.heatmap[-1]
    fan_in = 32 * 3 * 3
    # kaiming_uniform_(a=sqrt(5)) draws from U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert last.weight.abs().max().item() <= 1 / math.sqrt(fan_in) + 1e-7
    assert torch.all(last.bias == -2.19)
    kaiming = _head('kaiming')
    # MMDet3D: Kaiming normal, fan_out, ReLU gain: std sqrt(2 / (10 * 3 * 3))
    assert kaiming.heatmap[-1].weight.std().item() == pytest.approx(math.sqrt(2 / 90), rel=0.15)
    assert torch.all(kaiming.heatmap[-1].bias == -2.19)
    # the regression branches are initialised the same way in both
    for name in ('reg', 'height', 'dim', 'rot', 'vel'):
        for a, b in zip(getattr(head, name).parameters(), getattr(kaiming, name).parameters()):
            torch.testing.assert_close(a, b)


def test_pytorch_heatmap_init_starts_logits_near_the_prior():
    x = torch.randn(2, 32, 16, 16)
    spreads = {}
    for init in ('pytorch', 'kaiming'):
        head = _head(init).eval()
        with torch.no_grad():
            logits = head(x)['heatmap']
        assert logits.shape == (2, 10, 16, 16)
        spreads[init] = (logits + 2.19).abs().mean().item()
    assert spreads['pytorch'] < 0.5
    assert spreads['kaiming'] > 2 * spreads['pytorch']


def test_unknown_heatmap_init_is_refused():
    with pytest.raises(ValueError, match='heatmap_init'):
        CenterSeparateHead(heatmap_init='xavier', in_channels=8, heads=HEADS)
