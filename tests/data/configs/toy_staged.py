# Two toy stages chained by StagedRunner: the second starts from the first's final weights.
_base_ = ['../../../configs/_base_/default_runtime.py']
runner_type = 'StagedRunner'
stages = [
    dict(name='pretrain', config='tests/data/configs/toy_regression.py'),
    dict(
        name='finetune',
        config='tests/data/configs/toy_regression.py',
        init_from='pretrain',
        init_option='load_from',
        cfg_options={'train_cfg.max_iters': 4},
        test=True,
    ),
]
