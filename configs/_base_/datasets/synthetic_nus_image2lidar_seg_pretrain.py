# nus_image2lidar_seg_pretrain on the synthetic world (CPU loaders, as synthetic_nus_lidarseg.py).
_base_ = ['./nus_image2lidar_seg_pretrain.py']
data_root = 'data/synthetic-nuscenes/'
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
