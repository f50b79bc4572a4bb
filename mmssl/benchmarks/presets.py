"""Presets of the label-efficiency benchmark: configs, data, iterations, and their budgets.

A preset names, per downstream model, the fine-tuning config and, per pre-training method, the
pre-training config. ``scratch`` is the method without pre-training. The protocol every preset
follows (NS-MAE Sec. 4.3, Table VII):

* pre-training sees **every** training scene without labels; fine-tuning sees a nested,
  scene-level subset (``fractions``, :mod:`mmssl.utils.label_split`), the same subsets for
  every method;
* every fraction and every method is fine-tuned with the **same schedule and the same number
  of iterations** (``finetune_iters``, or ``finetune_epochs_of_full`` epochs of the 100% set);
* several fine-tuning seeds, compared to scratch pair by pair (same split and seed,
  :mod:`mmssl.benchmarks.stats`).

Each preset's budget is in the docstring of the function that builds it (``_quick``,
``_cpu``, ...) and in ``BenchmarkPreset.description`` (printed by ``--list-presets``).
Published figures come from the method's ``metafile.yml`` (:mod:`mmssl.benchmarks.published`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from .strategies import BEVFUSION_STRATEGIES, FULL, MINKUNET_STRATEGIES, FinetuneStrategy

SCRATCH = 'scratch'


@dataclass(frozen=True)
class Schedule:
    """A schedule the benchmark imposes instead of the config's: linear warm-up, then cosine.

    Attributes:
        lr: Peak learning rate (``optim_wrapper.optimizer.lr``).
        warmup_ratio: Fraction of the iterations spent warming up linearly.
        warmup_start_factor: Learning-rate factor at iteration 0.
        min_lr_ratio: Final learning rate as a fraction of ``lr``.
    """

    lr: float
    warmup_ratio: float = 0.05
    warmup_start_factor: float = 0.01
    min_lr_ratio: float = 0.01


@dataclass(frozen=True)
class MergePart:
    """One part of a merged pre-training (``ModelEntry.merged_pretrainings``, :mod:`.merged_pretraining`).

    Attributes:
        method: A pre-training method of the same model entry (a key of ``pretrain_configs``).
        prefixes: Checkpoint module prefixes taken from that method's checkpoint.
    """

    method: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class ModelEntry:
    """The configs of one downstream model in a preset.

    Attributes:
        finetune_config: Detector config that fine-tunes (and evaluates) the model.
        pretrain_configs: Pre-training config per method name (``scratch`` has none).
        init_option: ``--cfg-options`` template that initialises the detector from a
            pre-training checkpoint; ``{ckpt}`` is replaced by the checkpoint path.
        strategies: Fine-tuning strategies by name (``--strategies``); ``full`` is the default.
        bev_probe: Whether ``tools/probe_features.py`` (a linear probe of BEV feature maps against
            box classes) applies to the model; without it the harness skips the feature probe.
        merged_pretrainings: Methods whose checkpoint merges the checkpoints of other methods of
            this entry, module by module (UniPAD's official fusion recipe:
            :mod:`.merged_pretraining`); each part is pre-trained as its own method.
        pretrain_length: Per method, a multiple of the preset's pre-training iterations (e.g.
            ``{'nsmae_x5': 5}``: the same config pre-trained five times as long, with its schedule
            stretched); methods not named get the preset's.
        lidarseg_labels: Whether fine-tuning reads per-point lidarseg labels (the info key
            ``pts_semantic_mask_path`` and its files); the harness checks the world has them before
            any step (:func:`~.world_checks.check_lidarseg_labels`).
    """

    finetune_config: str
    pretrain_configs: dict[str, str]
    init_option: str = 'model.init_from.checkpoint={ckpt}'
    strategies: dict[str, FinetuneStrategy] = field(default_factory=lambda: {FULL: FinetuneStrategy()})
    bev_probe: bool = True
    lidarseg_labels: bool = False
    merged_pretrainings: dict[str, tuple[MergePart, ...]] = field(default_factory=dict)
    pretrain_length: dict[str, int] = field(default_factory=dict)


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
        finetune_iters: Fine-tuning iterations, the same for every fraction and method.
        fractions / seeds / methods: Defaults of the command line.
        finetune_epochs_of_full: Instead of ``finetune_iters``: this many epochs of the 100%
            training set (``ceil(frames / batch size)`` iterations each) for every fraction.
        pretrain_schedule: Schedule replacing the pre-training config's (None: its own,
            stretched to ``pretrain_iters``).
        finetune_schedule: Schedule replacing the fine-tuning config's (None: its own,
            stretched to the fine-tuning iterations).
        probe_fraction: Label fraction whose scenes train the linear feature probe
            (:mod:`mmssl.benchmarks.probe`); None: no probe.
        jobs: Steps run at once by default (``--jobs``; execution only, not part of the
            protocol: every step is the same command whatever runs beside it).
        world: Arguments of the synthetic world generator (``data='synthetic'``).
        published: Published figures, ``{(model, method, fraction): {'mAP': x, 'NDS': y}}``.
        description: The budget and purpose (the docstring of the preset's builder).
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
    finetune_epochs_of_full: int | None = None
    pretrain_schedule: Schedule | None = None
    finetune_schedule: Schedule | None = None
    probe_fraction: float | None = None
    jobs: int = 1
    world: dict = field(default_factory=dict)
    published: dict = field(default_factory=dict)
    description: str = ''

    def __post_init__(self) -> None:
        if (self.finetune_iters is None) == (self.finetune_epochs_of_full is None):
            raise ValueError(
                f'preset {self.name!r}: set exactly one of finetune_iters and finetune_epochs_of_full, '
                'so every fraction gets the same fine-tuning iterations'
            )


_TINY_MODELS = {
    'bevfusion': ModelEntry(
        finetune_config='projects/BEVFusion/configs/bevfusion_tiny_synthetic.py',
        pretrain_configs={
            'nsmae': 'configs/nsmae/nsmae_bevfusion_tiny.py',
            # NS-MAE ablations (docs/benchmarks-label-efficiency.md): equal loss weights instead of the
            # paper's 1e4 / 1e-2 / 1e-2, a render volume of twice the z resolution, x5 pre-training
            'nsmae_eqw': 'configs/nsmae/nsmae_bevfusion_tiny_eqw.py',
            'nsmae_z16': 'configs/nsmae/nsmae_bevfusion_tiny_z16.py',
            'nsmae_x5': 'configs/nsmae/nsmae_bevfusion_tiny.py',
            'unipad': 'configs/unipad/unipad_bevfusion_tiny.py',  # joint camera + LiDAR
            # the two halves of UniPAD's official fusion recipe, merged as `unipad_merged`
            'unipad_cam': 'configs/unipad/unipad_bevfusion_tiny_cam.py',
            'unipad_lidar': 'configs/unipad/unipad_bevfusion_tiny_lidar.py',
        },
        strategies=BEVFUSION_STRATEGIES,
        merged_pretrainings={
            'unipad_merged': (
                MergePart('unipad_cam', ('img_backbone.', 'img_neck.', 'view_transform.')),
                # the tiny voxel encoder (HardSimpleVFE) has no weights
                MergePart('unipad_lidar', ('pts_middle_encoder.',)),
            )
        },
        pretrain_length={'nsmae_x5': 5},
    ),
    # camera-only: `--model bevdet --methods scratch,occfeat,occfeat_occonly` (OccFeat's row, with a
    # randomly initialised DINOv2 ViT-S/14 teacher on the CPU: configs/occfeat/README.md)
    'bevdet': ModelEntry(
        finetune_config='projects/BEVDet/configs/bevdet_tiny_synthetic.py',
        pretrain_configs={
            'nsmae': 'configs/nsmae/nsmae_bevdet_tiny.py',
            'unipad': 'configs/unipad/unipad_bevdet_tiny.py',
            'occfeat': 'configs/occfeat/occfeat_bevdet_tiny.py',
            'occfeat_occonly': 'configs/occfeat/occfeat_bevdet_tiny_occonly.py',
            'occfeat_dinov2': 'configs/occfeat/occfeat_bevdet_tiny_dinov2.py',  # needs the released weights
        },
    ),
    # camera-only BEV segmentation of vehicles and the synthetic world's map layers (OccFeat's downstream
    # task; the world needs maps/road_frames.json: tools/add_map_layers.py), no detection head
    'bevdet_map': ModelEntry(
        finetune_config='projects/BEVDet/configs/bevdet_seg_map_tiny_synthetic.py',
        pretrain_configs={
            'nsmae': 'configs/nsmae/nsmae_bevdet_tiny.py',
            'occfeat': 'configs/occfeat/occfeat_bevdet_tiny.py',
            'occfeat_occonly': 'configs/occfeat/occfeat_bevdet_tiny_occonly.py',
        },
    ),
    # BEVDistill: the tiny BEVDet student with a LiDAR teacher; the teacher checkpoint comes per label
    # fraction from tools/benchmark_distillation.py (mmssl.benchmarks.distillation)
    'bevdet_distill': ModelEntry(
        finetune_config='configs/bevdistill/bevdistill_bevdet_tiny.py',
        pretrain_configs={
            'nsmae': 'configs/nsmae/nsmae_bevdet_tiny.py',
            'occfeat': 'configs/occfeat/occfeat_bevdet_tiny.py',
        },
        init_option='model.student.init_from.checkpoint={ckpt}',
    ),
    # LiDAR-only: `--model centerpoint --methods scratch,adljepa,occmae,bevmae` (measured 2026-12-01 in
    # 115 min with --jobs 3: docs/benchmarks-label-efficiency.md)
    'centerpoint': ModelEntry(
        finetune_config='projects/CenterPoint/configs/centerpoint_tiny_synthetic.py',
        pretrain_configs={
            'nsmae': 'configs/nsmae/nsmae_centerpoint_tiny.py',
            'adljepa': 'configs/adljepa/adljepa_centerpoint_tiny.py',
            'bevmae': 'configs/bevmae/bevmae_centerpoint_tiny.py',
            'occmae': 'configs/occmae/occmae_centerpoint_tiny.py',
            'unipad': 'configs/unipad/unipad_centerpoint_tiny.py',
            # image-to-LiDAR distillation, randomly initialised DINOv2 ViT-S/14 teacher on the CPU
            'ppkt': 'configs/ppkt/ppkt_centerpoint_tiny.py',
            'slidr': 'configs/slidr/slidr_centerpoint_tiny.py',
            'scalr': 'configs/scalr/scalr_centerpoint_tiny.py',
            'largead': 'configs/largead/largead_centerpoint_tiny.py',
        },
    ),
    # LiDAR semantic segmentation (16 lidarseg classes, SegMetric mIoU): `--model minkunet_lidarseg
    # --methods scratch` (docs/benchmarks-label-efficiency.md). Pre-training configs with a point-wise
    # MinkUNet student (PPKT, SLidR, ScaLR) come with their methods; no BEV feature probe.
    'minkunet_lidarseg': ModelEntry(
        finetune_config='projects/MinkUNet/configs/minkunet_lidarseg_tiny_synthetic.py',
        # image-to-LiDAR distillation into the point-wise MinkUNet student (random-init ViT-S/14 teacher)
        pretrain_configs={
            'ppkt': 'configs/ppkt/ppkt_minkunet_tiny.py',
            'slidr': 'configs/slidr/slidr_minkunet_tiny.py',
            'scalr': 'configs/scalr/scalr_minkunet_tiny.py',
            # LargeAD (k-means stand-in superpixels) and its three ablations (configs/largead/README.md)
            'largead': 'configs/largead/largead_minkunet_tiny.py',
            'largead_slic': 'configs/largead/largead_minkunet_tiny_slic.py',
            'largead_notmp': 'configs/largead/largead_minkunet_tiny_notmp.py',
            # Table 11: the benchmark's world plus a 64-beam world (generated by the harness if missing)
            'largead_2src': 'configs/largead/largead_minkunet_tiny_2src.py',
        },
        strategies=MINKUNET_STRATEGIES,
        bev_probe=False,
        lidarseg_labels=True,
    ),
}
_SYNTHETIC = dict(data='synthetic', train_info='nuscenes_infos_train.pkl', val_info='nuscenes_infos_val.pkl')
# Pre-training must move the encoders in a few hundred iterations: AdamW moves a weight by about
# lr per step, so the configs' constant 1e-4 leaves them near their random start (issue 10);
# 1e-3 with warm-up and cosine decay, as configs/nsmae/nsmae_bevfusion_demo.py found.
_PRETRAIN_SCHEDULE = Schedule(lr=1e-3, warmup_ratio=0.05)


def _micro() -> BenchmarkPreset:
    """The test suite's preset: 4 + 4 iterations on a 4-scene world, every step of the harness.

    Budget: a few minutes (measured 460 s with world generation on the shared 2-core CPU at a
    load average of about 6, 2026-12-01). Its numbers mean nothing.
    """
    return BenchmarkPreset(
        name='micro',
        data_root='data/synthetic-nuscenes-micro',
        models=_TINY_MODELS,
        pretrain_iters=4,
        finetune_iters=4,
        fractions=(0.5,),
        seeds=(0,),
        methods=(SCRATCH, 'nsmae'),
        pretrain_schedule=_PRETRAIN_SCHEDULE,
        probe_fraction=0.5,
        world=dict(scenes=4, samples_per_scene=3),
        **_SYNTHETIC,
    )


def _quick() -> BenchmarkPreset:
    """Development preset: the whole protocol at a small budget, about 15-20 minutes.

    World: 40 scenes x 5 keyframes (32 train scenes = 160 frames for pre-training without
    labels, 8 val scenes = 40 frames), generated once (about 1.5 min). Pre-training: 200
    iterations (batch 2, AdamW 1e-3, 5% warm-up, cosine). Fine-tuning: 60 iterations at batch
    4 for every fraction (10% = 3 scenes, 100% = 32 scenes) and seeds 0 and 1: 2 methods x 2
    fractions x 2 seeds = 8 fine-tunes, two steps at once (one thread each), and one linear
    probe per method on the 10% split.
    Budget, estimated from the ``cpu`` preset's measured step costs on the idle 2-core CPU
    (2.0-2.1 s per fine-tuning and 1.5 s per pre-training iteration at one thread): about
    3 min per fine-tune with its start-up and evaluation, 5 min of pre-training beside the
    scratch runs, 1-2 min per probe: about 17 min plus the world (measured 2026-12-02: 19.4 min
    with the world's 2.5 min; docs/benchmarks-label-efficiency.md). 60 iterations are too few
    for the tiny detector to detect much, and two seeds give a very wide interval (t with
    1 degree of freedom): the preset checks the pipeline, not conclusions.
    """
    return BenchmarkPreset(
        name='quick',
        data_root='data/synthetic-nuscenes-quick',
        models=_TINY_MODELS,
        pretrain_iters=200,
        finetune_iters=60,
        fractions=(0.1, 1.0),
        seeds=(0, 1),
        methods=(SCRATCH, 'nsmae'),
        pretrain_schedule=_PRETRAIN_SCHEDULE,
        probe_fraction=0.1,
        jobs=2,
        world=dict(scenes=40, samples_per_scene=5, val_ratio=0.2),
        **_SYNTHETIC,
    )


def _cpu() -> BenchmarkPreset:
    """The CPU benchmark: 2 methods x 3 fractions x 3 seeds in at most 2 hours, two steps at once.

    World: 110 scenes x 8 keyframes: 100 train scenes (800 frames, all pre-trained on without
    labels) and 10 val scenes (80 frames). Label fractions 1% (1 scene, 8 frames), 10% (10
    scenes, 80 frames) and 100% (800 frames): at 1% there are 100x more unlabelled than
    labelled frames. Pre-training: 1200 iterations at batch 2 (3 epochs of the 800 frames),
    AdamW 1e-3, 5% warm-up, cosine decay. Fine-tuning: 150 iterations at batch 4 (600 samples,
    3/4 of an epoch of the 100% set) for every fraction, method and seed (the tiny BEVFusion
    config's warm-up + cosine schedule stretched to 150 iterations), seeds 0, 1, 2: 18
    fine-tunes, each tested once with ``tools/test.py`` on the 80 validation frames.
    Execution: ``jobs=2`` steps at once, one intra-op thread each (measured on the idle 2-core
    CPU, 2026-12-01: tiny BEVFusion 2.0-2.1 s per fine-tuning iteration at one thread with a
    pre-training beside it, against 1.6 s alone at two threads; NS-MAE 1.5 s per pre-training
    iteration at one thread), so the scratch fine-tunes run while NS-MAE pre-trains.
    Budget, estimated from those costs: pre-training 30 min in one slot, 18 x (7 min
    fine-tuning + about 1.5 min start-up and evaluation of 80 frames) + two probes over two
    slots: about 95 min plus 5 min for the world, at most 2 hours. Interrupted runs resume
    (finished steps are skipped; ``protocol.json`` refuses a folder of another protocol).
    Re-measure the budget when the tiny configs change size.
    """
    return BenchmarkPreset(
        name='cpu',
        data_root='data/synthetic-nuscenes-110',
        models=_TINY_MODELS,
        pretrain_iters=1200,
        finetune_iters=150,
        fractions=(0.01, 0.1, 1.0),
        seeds=(0, 1, 2),
        methods=(SCRATCH, 'nsmae'),
        pretrain_schedule=_PRETRAIN_SCHEDULE,
        probe_fraction=0.1,
        jobs=2,
        world=dict(scenes=110, samples_per_scene=8, val_ratio=10 / 110),
        **_SYNTHETIC,
    )


def _nuscenes() -> BenchmarkPreset:
    """The paper's protocol on real nuScenes (GPU cluster; not runnable on the CPU machine).

    Full-size BEVFusion (256x704, 9 sweeps, no CBGS) fine-tuned from NS-MAE's full
    pre-training (its own 50-epoch schedule) on 1/5/10/100% of the training scenes. Every
    fraction is fine-tuned for the same number of iterations as the 100% run: 20 epochs of
    the full training set, ``20 x ceil(28130 / 4)`` = 140,660 iterations at the config's batch
    4 in one process, the config's one-cycle schedule stretched over them (NS-MAE Sec. 4.3:
    "all models are end-to-end fine-tuned for the same iterations as the default fine-tuning
    setting (100%)").
    Published figures (configs/nsmae/metafile.yml, NS-MAE Table VII, nuScenes val, BEVFusion
    baseline without CBGS at 256x704): mAP 1% 26.2 -> 30.2, 5% 46.1 -> 47.6, 10% 54.2 ->
    55.9, 100% 60.8 -> 63.0; NDS 44.2 -> 45.4, 55.4 -> 57.0, 60.3 -> 61.4, 64.1 -> 65.5.
    """
    from .published import load_published

    return BenchmarkPreset(
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
        finetune_epochs_of_full=20,
        fractions=(0.01, 0.05, 0.1, 1.0),
        seeds=(0,),
        methods=(SCRATCH, 'nsmae'),
        probe_fraction=0.01,
        published=load_published('configs/nsmae/metafile.yml', dataset='nuScenes val'),
    )


def _build(builder) -> BenchmarkPreset:
    preset = builder()
    return BenchmarkPreset(**{**preset.__dict__, 'description': inspect.cleandoc(builder.__doc__)})


PRESETS: dict[str, BenchmarkPreset] = {p.name: p for p in map(_build, (_micro, _quick, _cpu, _nuscenes))}
