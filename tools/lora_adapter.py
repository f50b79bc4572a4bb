"""Export the LoRA adapter of a fine-tuning checkpoint, and merge it into the base weights.

A LoRA fine-tune (``finetune_strategy=dict(type='LoRAFinetune', ...)``, docs/finetuning.md)
saves checkpoints holding the base weights (under ``<layer>.base_layer.``), the adapters and the
fully trained head. This tool writes

* ``--adapter``: what the fine-tune trained (adapters + head), a few percent of the model, to
  ship beside one base checkpoint (:func:`mmssl.models.finetune.load_adapter` applies it);
* ``--merged``: a checkpoint with the adapters folded into the base weights and the plain
  detector's keys, for deployment: it loads into the same config without ``finetune_strategy``
  and gives the same outputs.

Usage::

    python tools/lora_adapter.py CONFIG CHECKPOINT --adapter adapter.pth --merged merged.pth \
        [--cfg-options k=v ...]
"""

import argparse

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import load_checkpoint
from mmengine.utils import import_modules_from_strings

from mmssl.models.finetune import LoRAFinetune, adapter_state_dict, merge_lora
from mmssl.registry import MODELS
from mmssl.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export / merge the LoRA adapter of a checkpoint')
    parser.add_argument('config', help='the LoRA fine-tuning config (the run config of the checkpoint)')
    parser.add_argument('checkpoint', help='checkpoint of that run')
    parser.add_argument('--adapter', help='write the adapter (adapters + fully trained modules) here')
    parser.add_argument('--merged', help='write the merged checkpoint (plain detector keys) here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    args = parser.parse_args()
    if not (args.adapter or args.merged):
        parser.error('give --adapter, --merged or both')
    return args


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    if not isinstance(model.finetune_strategy, LoRAFinetune):
        raise SystemExit(f'{args.config}: model.finetune_strategy is not LoRAFinetune')
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    strategy = model.finetune_strategy
    meta = dict(
        checkpoint=args.checkpoint,
        config=args.config,
        rank=strategy.rank,
        alpha=strategy.alpha,
        targets=strategy.targets,
        trainable=list(strategy.trainable),
    )
    if args.adapter:
        adapter = adapter_state_dict(model)
        torch.save(dict(state_dict=adapter, meta=meta), args.adapter)
        values = sum(v.numel() for v in adapter.values())
        print(f'adapter: {len(adapter)} tensors, {values:,} values -> {args.adapter}')
    if args.merged:
        merge_lora(model)
        torch.save(dict(state_dict=model.state_dict(), meta=dict(meta, merged=True)), args.merged)
        print(f'merged checkpoint (plain detector keys) -> {args.merged}')


if __name__ == '__main__':
    main()
