# `make demo` / `mim train mmssl configs/nsmae/nsmae_bevfusion_demo.py`: the main job on the synthetic
# world (data/synthetic-nuscenes, written by `make data`), a few minutes on a CPU:
#   1. NS-MAE pre-training of the tiny BEVFusion encoders (configs/nsmae/nsmae_bevfusion_tiny.py),
#      50 iterations at a demo-only lr of 1e-3 (the paper's 1e-4 moves too little in 50
#      iterations to see); renderings beside their targets go to pretrain/render_vis/ (and
#      TensorBoard) every 50 iterations;
#   2. fine-tuning of the tiny BEVFusion detector (0.8 m BEV cells, one-cycle AdamW, batch 4)
#      from that checkpoint on 10% of the training scenes (tools/make_label_split.py, seed 0)
#      for 200 iterations;
#   3. evaluation with MMDet3D's NuScenesMetric on the validation scenes: NDS/mAP and the
#      per-class APs are printed.
# StagedRunner (mmssl/engine/runners/staged_runner.py) runs the stages as ordinary MMEngine runs
# in <work_dir>/{pretrain,finetune}; a re-run skips finished stages.
_base_ = ['../_base_/default_runtime.py']
runner_type = 'StagedRunner'
pretrain_iters = 50
finetune_iters = 200
stages = [
    dict(
        name='pretrain',
        config='configs/nsmae/nsmae_bevfusion_tiny.py',
        cfg_options={
            'train_cfg.max_iters': pretrain_iters,
            'optim_wrapper.optimizer.lr': 1e-3,
            'default_hooks.logger.interval': 10,
            'default_hooks.checkpoint.interval': pretrain_iters,
            'custom_hooks': [
                dict(type='ComputeStatsHook'),
                dict(type='RenderVisHook', interval=50, stride=2),
            ],
        },
    ),
    dict(
        name='finetune',
        config='projects/BEVFusion/configs/bevfusion_tiny_synthetic.py',
        init_from='pretrain',
        label_fraction=0.1,
        test=True,
        cfg_options={
            'train_cfg.max_iters': finetune_iters,
            'train_cfg.val_interval': finetune_iters + 1,  # evaluate once, in the test stage
            'default_hooks.logger.interval': 20,
            'default_hooks.checkpoint.interval': finetune_iters,
        },
    ),
]
