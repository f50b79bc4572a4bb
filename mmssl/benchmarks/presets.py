"""Presets of the label-efficiency benchmark: which configs, data, and how many iterations.

A preset names, per downstream model, the fine-tuning config and, per pre-training method,
the pre-training config. ``scratch`` is the method without pre-training. Every preset keeps
the number of fine-tuning iterations the same across label fractions, as NS-MAE's
label-efficiency protocol does (the paper's Sec. 4.3 fine-tunes each fraction with the same
schedule).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCRATCH = 'scratch'


@dataclass(frozen=True)
class ModelEntry:
    """The configs of one downstream model in a preset.

    Attributes:
        finetune_config: Detector config that fine-tunes (and evaluates) the model.
        pretrain_configs: Pre-training config per method name (``scratch`` has none).
        init_option: ``--cfg-options`` template that initialises the detector from a
            pre-training checkpoint; ``{ckpt}`` is replaced by the checkpoint path.
    """

    finetune_config: str
    pretrain_configs: dict[str, str]
    init_option: str = 'model.init_from.checkpoint={ckpt}'


@dataclass(frozen=True)
class BenchmarkPreset:
    """One benchmark protocol.

    Attributes:
        name: Preset name (``--preset``).
        data: ``'synthetic'`` (the built-in world, generated if missing) or ``'nuscenes'``.
        data_root: Dataset root folder.
        train_info / val_info: Info files (relative to ``data_root``).
        models: Per downstream model name, its :class:`ModelEntry`.
        pretrain_iters: Pre-training iterations (``None``: the config's own schedule).
        finetune_iters: Fine-tuning iterations, the same for every fraction.
        fractions / seeds / methods: Defaults of the command line.
        world: Arguments of the synthetic world generator (``data='synthetic'``).
        published: Expected published figures, ``{(model, method, fraction): {'mAP': x}}``.
    """

    name: str
    data: str
    data_root: str
    train_info: str
    val_info: str
    models: dict[str, ModelEntry]
    pretrain_iters: int | None
    finetune_iters: int | None
    fractions: tuple[float, ...]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    world: dict = field(default_factory=dict)
    published: dict = field(default_factory=dict)


_TINY_MODELS = {
    'bevfusion': ModelEntry(
        finetune_config='projects/BEVFusion/configs/bevfusion_tiny_synthetic.py',
        pretrain_configs={'nsmae': 'configs/nsmae/nsmae_bevfusion_tiny.py'},
    ),
}

PRESETS: dict[str, BenchmarkPreset] = {
    p.name: p
    for p in (
        BenchmarkPreset(
            name='micro',
            data='synthetic',
            data_root='data/synthetic-nuscenes-micro',
            train_info='nuscenes_infos_train.pkl',
            val_info='nuscenes_infos_val.pkl',
            models=_TINY_MODELS,
            pretrain_iters=4,
            finetune_iters=4,
            fractions=(0.5,),
            seeds=(0,),
            methods=(SCRATCH, 'nsmae'),
            world=dict(scenes=4, samples_per_scene=3),
        ),
        BenchmarkPreset(
            name='cpu-small',
            data='synthetic',
            # 40 scenes (32 train / 8 val, v1.0-trainval names): the default 10-scene world has 8
            # training scenes, where 1% and 10% of the scenes would both be the one-scene minimum.
            data_root='data/synthetic-nuscenes-40',
            train_info='nuscenes_infos_train.pkl',
            val_info='nuscenes_infos_val.pkl',
            models=_TINY_MODELS,
            pretrain_iters=200,
            finetune_iters=150,
            fractions=(0.01, 0.1, 1.0),
            seeds=(0, 1, 2),
            methods=(SCRATCH, 'nsmae'),
            world=dict(scenes=40, samples_per_scene=10, val_ratio=0.2),
        ),
        BenchmarkPreset(
            name='nuscenes',
            data='nuscenes',
            data_root='data/nuscenes',
            train_info='nuscenes_infos_train.pkl',
            val_info='nuscenes_infos_val.pkl',
            models={
                'bevfusion': ModelEntry(
                    finetune_config='projects/BEVFusion/configs/bevfusion_full_nus.py',
                    pretrain_configs={'nsmae': 'configs/nsmae/nsmae_bevfusion.py'},
                ),
            },
            pretrain_iters=None,
            finetune_iters=None,
            fractions=(0.01, 0.05, 0.1, 1.0),
            seeds=(0,),
            methods=(SCRATCH, 'nsmae'),
            # NS-MAE paper, Table 3 (BEVFusion on nuScenes val, fine-tuned with a fraction of labels).
            published={
                ('bevfusion', SCRATCH, 0.01): {'mAP': 26.2},
                ('bevfusion', 'nsmae', 0.01): {'mAP': 30.2},
                ('bevfusion', SCRATCH, 0.1): {'mAP': 54.2},
                ('bevfusion', 'nsmae', 0.1): {'mAP': 55.9},
            },
        ),
    )
}
