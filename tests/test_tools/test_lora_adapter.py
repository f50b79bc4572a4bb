"""tools/lora_adapter.py: the exported adapter and the merged checkpoint reproduce the fine-tune."""

import torch
from mmengine.runner.checkpoint import load_state_dict

from mmssl.models.finetune import load_adapter
from mmssl.testing.finetune import bev_features, small_detector_batch
from mmssl.testing.runs import run_tool
from mmssl.testing.synthetic_batch import build_from_config

CONFIG = 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'
LORA = ['model.finetune_strategy.type=LoRAFinetune', 'model.finetune_strategy.rank=4']


def test_adapter_and_merged_checkpoint(tmp_path):
    torch.manual_seed(0)
    model, cfg = build_from_config(CONFIG, finetune_strategy=dict(type='LoRAFinetune', rank=4))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if '.lora_B.' in name:
                param.copy_(0.05 * torch.randn(param.shape, generator=g))
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'lora.pth')
    adapter, merged = tmp_path / 'adapter.pth', tmp_path / 'merged.pth'
    out = run_tool(
        [
            'tools/lora_adapter.py',
            CONFIG,
            str(tmp_path / 'lora.pth'),
            '--adapter',
            str(adapter),
            '--merged',
            str(merged),
            '--cfg-options',
            *LORA,
        ],
        timeout=600,
    ).stdout
    assert 'adapter:' in out and 'merged checkpoint' in out
    batch = small_detector_batch(cfg)
    expected = bev_features(model, batch)
    torch.manual_seed(1)  # other weights: only the files make the outputs equal
    plain, _ = build_from_config(CONFIG)
    load_state_dict(plain, torch.load(merged)['state_dict'], strict=True)
    for a, b in zip(bev_features(plain, batch), expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # the adapter on the same base weights restores the fine-tune; it is a small part of them
    torch.manual_seed(0)
    fresh, _ = build_from_config(CONFIG, finetune_strategy=dict(type='LoRAFinetune', rank=4))
    saved = torch.load(adapter)
    assert saved['meta']['rank'] == 4 and len(saved['meta']['targets']) > 10
    load_adapter(fresh, saved['state_dict'])
    for a, b in zip(bev_features(fresh, batch), expected):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    adapter_values = sum(v.numel() for v in saved['state_dict'].values())
    assert adapter_values < 0.3 * sum(v.numel() for v in model.state_dict().values())
