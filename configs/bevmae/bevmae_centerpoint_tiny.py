# Tiny BEV-MAE / CenterPoint on the synthetic world (CPU): the encoders of
# projects/CenterPoint/configs/centerpoint_tiny_synthetic.py (0.2 m voxels at BEV stride 4: 0.8 m
# cells, the paper's size; D = 32 x 2 = 64), iteration-based AdamW at lr 3e-4, 100 iterations.
_base_ = [
    '../_base_/datasets/synthetic_nus_lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/bevmae_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
bevmae_pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]

model = dict(
    data_preprocessor=dict(
        _delete_=True, type='TorchVoxelDataPreprocessor', voxel=True,
        voxel_layer=dict(max_num_points=10, voxel_size=[0.2, 0.2, 0.4], max_voxels=(40000, 40000),
                         point_cloud_range=bevmae_pcr)),
    pts_middle_encoder=dict(
        _delete_=True, type='mmdet3d.SparseEncoder', in_channels=5, sparse_shape=[21, 512, 256],
        output_channels=32, order=('conv', 'norm', 'act'), encoder_channels=((8, 16), (16, 32), (32,)),
        encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,)), block_type='basicblock', base_channels=8),
    point_cloud_range=bevmae_pcr,
    voxel_size=[0.2, 0.2, 0.4],
    lidar_masker=dict(point_cloud_range=bevmae_pcr, bev_cell_size=[0.8, 0.8]),
    decoder=dict(in_channels=64))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)
