# nus_pretrain on the synthetic world (data/synthetic-nuscenes/, v1.0-mini layout, infos written
# by tools/create_data.py), sized for the CPU: 320x180 renders -> 128x352 network input (the
# nuScenes resize range scaled by 320/1600 and the 352/704 width ratio), 2 sweeps, 4x4 patches
# (NS-MAE's patch size at 128x352), 1.2 m BEV depth cells. The LiDAR is masked on the tiny
# encoders' voxels (0.2 x 0.2 x 0.4 m over the tiny detectors' range [-25.6, 25.6] x
# [-51.2, 51.2] m, configs/nsmae/_base_/nsmae_bevfusion_tiny_model.py), so the masking ratio is the
# ratio of encoder voxels removed.
_base_ = ['./nus_pretrain.py']

data_root = 'data/synthetic-nuscenes/'
point_cloud_range = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
voxel_size = [0.2, 0.2, 0.4]
bev_cell_size = [1.2, 1.2]
image_size = [128, 352]
img_resize_lim = [0.95, 1.375]
img_resize_test = [1.2, 1.2]
num_sweeps = 2
img_patch_size = 4

train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=num_sweeps, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='ImageAug3D', final_dim=image_size, resize_lim=img_resize_lim,
         bot_pct_lim=[0.0, 0.0], rot_lim={{_base_.img_rot_lim}}, rand_flip=True, is_train=True),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.78539816, 0.78539816],
         scale_ratio_range=[0.9, 1.1], translation_std=0.5),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='DepthMapTarget'),
    dict(type='ImagePatchMask', ratio={{_base_.img_mask_ratio}}, patch_size=img_patch_size),
    dict(type='LidarVoxelMask', point_cloud_range=point_cloud_range, voxel_size=voxel_size,
         ratio={{_base_.lidar_mask_ratio}}),
    dict(type='BEVDepthHeightTarget', point_cloud_range=point_cloud_range,
         bev_cell_size=bev_cell_size, points_key='masked_points'),
    dict(type='PackSSLInputs', keys=['points', 'img']),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
