"""Fine-tuning strategies of the label-efficiency harness (``--strategies``, docs/finetuning.md).

A :class:`FinetuneStrategy` is what a strategy's fine-tunes add to the benchmark's config
overrides: a ``model.finetune_strategy`` (which parameters train), an optimizer-wrapper setting
(per-parameter learning rates) or a progressive-unfreezing plan. The dicts below are the
strategies of the tiny BEVFusion and the tiny MinkUNet, on their module names; a preset's
:class:`~mmssl.benchmarks.presets.ModelEntry` names the dict of its model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The fine-tuning strategy of every run made without ``--strategies`` (every parameter trains).
FULL = 'full'


@dataclass(frozen=True)
class FinetuneStrategy:
    """A fine-tuning strategy of the harness (``--strategies``): what its fine-tunes add to the
    benchmark's config overrides (docs/finetuning.md).

    Attributes:
        model: Merged into ``model`` (e.g. ``finetune_strategy=dict(type='LinearProbe')``).
        optim_wrapper: Merged into ``optim_wrapper`` (e.g. the layer-decay constructor).
        unfreeze: Groups of a :class:`~mmssl.engine.hooks.ProgressiveUnfreezeHook`, each
            ``dict(name, modules, begin, lr_mult)`` with ``begin`` a fraction of the fine-tuning
            iterations (so the plan scales with ``--finetune-iters``).
    """

    model: dict = field(default_factory=dict)
    optim_wrapper: dict = field(default_factory=dict)
    unfreeze: tuple = ()

    def overrides(self, base: dict, finetune_iters: int, custom_hooks: list) -> dict:
        """The run's config overrides: ``base`` (the benchmark's schedule) with this strategy's
        settings merged in.

        Args:
            base: The overrides of every fine-tune (``LabelEfficiencyBenchmark.finetune_overrides``).
            finetune_iters: Fine-tuning iterations (``unfreeze`` begins are fractions of them).
            custom_hooks: The fine-tuning config's ``custom_hooks`` (a list override replaces it).
        """
        out = dict(base)
        if self.model:
            out['model'] = _merge(out.get('model', {}), self.model)
        if self.optim_wrapper:
            out['optim_wrapper'] = _merge(out.get('optim_wrapper', {}), self.optim_wrapper)
        if self.unfreeze:
            groups = [dict(g, begin=int(round(g['begin'] * finetune_iters))) for g in self.unfreeze]
            out['custom_hooks'] = [*custom_hooks, dict(type='ProgressiveUnfreezeHook', groups=groups)]
        return out


def _merge(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` merged in, nested dicts key by key (as config inheritance does)."""
    out = dict(base)
    for key, value in extra.items():
        nested = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if nested else value
    return out


_HEADS = ['bbox_head', 'seg_head']
#: the modules after the fusion, which no pre-training of the project initialises
_DECODER = ['fusion_layer', 'pts_backbone', 'pts_neck']
#: the modules a pre-training checkpoint initialises (BEVFusion's init_from.prefix_map)
_ENCODERS = ('img_backbone', 'img_neck', 'view_transform', 'pts_voxel_encoder', 'pts_middle_encoder')
#: Strategies of the tiny BEVFusion, defaults from the survey (../shared/papers/000_*.txt Sec. 7.1)
#: and ../shared/METHOD_FACTS.md. probe: SLidR's linear probe trains the final layer only (here the
#: task heads). lora: rank 4; the survey's rank 16-32 is for 768-wide ViTs (about 2% of a
#: projection's rank), the tiny encoders are 8-64 channels wide, where rank 4 adapts 8% of their
#: parameters and rank 16 26%. progressive: discriminative rates x1 / x0.1 / x0.01 (survey: head
#: 1e-3, last block 1e-4, middle 1e-5), a group more every third of the iterations. layer_decay:
#: ScaLR's 0.95 (1% and 10% of the labels; 0.99 at 100%). frozen_encoders: the pre-trained
#: encoders frozen (parameters and BN statistics), the randomly initialised fusion, BEV decoder and
#: heads train (probe and lora also keep the random decoder frozen: they test the features through
#: it). encoder_lr: every pre-trained encoder
#: at 0.1x the learning rate for the whole fine-tune (the "encoder lr during fine-tuning" ablation of
#: NS-MAE's row: the fine-tune at the tiny config's lr moves the encoders as far as pre-training did).
BEVFUSION_STRATEGIES = {
    FULL: FinetuneStrategy(),
    'probe': FinetuneStrategy(model=dict(finetune_strategy=dict(type='LinearProbe', trainable=_HEADS))),
    'lora': FinetuneStrategy(
        model=dict(finetune_strategy=dict(type='LoRAFinetune', rank=4, trainable=_HEADS))
    ),
    'progressive': FinetuneStrategy(
        unfreeze=(
            dict(name='head', modules=_HEADS, begin=0.0, lr_mult=1.0),
            dict(name='bev', modules=list(_DECODER), begin=1 / 3, lr_mult=0.1),
            dict(name='encoders', modules=list(_ENCODERS), begin=2 / 3, lr_mult=0.01),
        )
    ),
    'layer_decay': FinetuneStrategy(
        optim_wrapper=dict(
            constructor='LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(
                layer_decay_rate=0.95,
                layers=[
                    _HEADS,
                    ['pts_neck'],
                    ['pts_backbone'],
                    ['fusion_layer'],
                    ['view_transform', 'pts_middle_encoder', 'pts_voxel_encoder'],
                    ['img_neck'],
                    ['img_backbone'],
                ],
            ),
        )
    ),
    'frozen_encoders': FinetuneStrategy(
        model=dict(finetune_strategy=dict(type='LinearProbe', trainable=_DECODER + _HEADS))
    ),
    'encoder_lr': FinetuneStrategy(
        optim_wrapper=dict(paramwise_cfg=dict(custom_keys={m: dict(lr_mult=0.1) for m in _ENCODERS}))
    ),
}


#: Strategies of the tiny MinkUNet (projects/MinkUNet/README.md), on its module names: the head
#: (`decode_head`), the U-Net's decoder (`backbone.decoder`), its encoder (`backbone.encoder`) and
#: input stem (`backbone.conv_input`). probe: SLidR's linear probe, the final linear layer only
#: (`decode_head.conv_seg`, as configs/minkunet_lidarseg_probe_tiny_synthetic.py). progressive:
#: the rates and thirds of BEVFUSION_STRATEGIES (head x1, decoder x0.1, encoder with its stem
#: x0.01). layer_decay: ScaLR's 0.95 from the head down to the stem. No lora: peft cannot wrap
#: spconv's sparse convolutions, and the U-Net has no other layer (`LoRAFinetune` refuses it).
MINKUNET_STRATEGIES = {
    FULL: FinetuneStrategy(),
    'probe': FinetuneStrategy(
        model=dict(finetune_strategy=dict(type='LinearProbe', trainable=['decode_head.conv_seg']))
    ),
    'progressive': FinetuneStrategy(
        unfreeze=(
            dict(name='head', modules=['decode_head'], begin=0.0, lr_mult=1.0),
            dict(name='decoder', modules=['backbone.decoder'], begin=1 / 3, lr_mult=0.1),
            dict(
                name='encoder', modules=['backbone.encoder', 'backbone.conv_input'], begin=2 / 3, lr_mult=0.01
            ),
        )
    ),
    'layer_decay': FinetuneStrategy(
        optim_wrapper=dict(
            constructor='LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(
                layer_decay_rate=0.95,
                layers=[['decode_head'], ['backbone.decoder'], ['backbone.encoder'], ['backbone.conv_input']],
            ),
        )
    ),
}
