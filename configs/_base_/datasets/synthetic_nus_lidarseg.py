# nus_lidarseg on the synthetic world (data/synthetic-nuscenes/, whose infos carry
# `pts_semantic_mask_path` lidarseg files): the same pipelines, loaders sized for the CPU (no
# worker processes) and an infinite sampler (MMEngine's IterBasedTrainLoop sleeps 2 s at every
# epoch transition, and a one-scene label split has one every few iterations).
_base_ = ['./nus_lidarseg.py']

data_root = 'data/synthetic-nuscenes/'
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root),
)
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
