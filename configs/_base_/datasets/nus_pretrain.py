# nuScenes multimodal self-supervised pre-training data: 6 cameras at 256x704, 9 LiDAR sweeps,
# no labels (NuScenesSSLDataset(with_label=False) checks the pipeline is label-free).
# Augmentation follows BEVFusion / NS-MAE (configs/nuscenes/default.yaml): images resized by
# U(0.38, 0.55), rotated by U(-5.4, 5.4) degrees and flipped; LiDAR rotated by U(-pi/4, pi/4),
# scaled by U(0.9, 1.1), translated with std 0.5 m and flipped in x and y; the calibration
# (lidar2img, cam2img, lidar2cam) is kept exact and the augmentations are recorded in
# img_aug_matrix / lidar_aug_matrix. Targets/masks: NS-MAE's (perspective depth maps, 50% of
# 8x8 image patches, 90% of LiDAR voxels, BEV depth of the masked voxels).
# Model configs override the variables below and re-declare the pipeline where they change it.
dataset_type = 'NuScenesSSLDataset'
data_root = 'data/nuscenes/'
class_names = [
    'car', 'truck', 'trailer', 'bus', 'construction_vehicle', 'bicycle', 'motorcycle',
    'pedestrian', 'traffic_cone', 'barrier'
]
metainfo = dict(classes=class_names)
point_cloud_range = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
voxel_size = [0.075, 0.075, 0.2]
bev_cell_size = [0.6, 0.6]  # voxel size x the LiDAR encoder's BEV stride 8 (180 x 180 cells)
image_size = [256, 704]  # (H, W) network input
img_resize_lim = [0.38, 0.55]
img_resize_test = [0.48, 0.48]
img_rot_lim = [-5.4, 5.4]
num_sweeps = 9
img_patch_size = 8
img_mask_ratio = 0.5
lidar_mask_ratio = 0.9
camera_names = [
    'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT',
    'CAM_BACK_RIGHT'
]
input_modality = dict(use_lidar=True, use_camera=True)
data_prefix = dict(
    pts='samples/LIDAR_TOP',
    sweeps='sweeps/LIDAR_TOP',
    CAM_FRONT='samples/CAM_FRONT',
    CAM_FRONT_LEFT='samples/CAM_FRONT_LEFT',
    CAM_FRONT_RIGHT='samples/CAM_FRONT_RIGHT',
    CAM_BACK='samples/CAM_BACK',
    CAM_BACK_RIGHT='samples/CAM_BACK_RIGHT',
    CAM_BACK_LEFT='samples/CAM_BACK_LEFT')
backend_args = None

train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5,
         backend_args=backend_args),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=num_sweeps, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True,
         backend_args=backend_args),
    dict(type='LoadSSLMultiViewImages', camera_names=camera_names, backend_args=backend_args),
    dict(type='ImageAug3D', final_dim=image_size, resize_lim=img_resize_lim,
         bot_pct_lim=[0.0, 0.0], rot_lim=img_rot_lim, rand_flip=True, is_train=True),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.78539816, 0.78539816],
         scale_ratio_range=[0.9, 1.1], translation_std=0.5),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='DepthMapTarget'),
    dict(type='ImagePatchMask', ratio=img_mask_ratio, patch_size=img_patch_size),
    dict(type='LidarVoxelMask', point_cloud_range=point_cloud_range, voxel_size=voxel_size,
         ratio=lidar_mask_ratio),
    dict(type='BEVDepthHeightTarget', point_cloud_range=point_cloud_range,
         bev_cell_size=bev_cell_size, points_key='masked_points'),
    dict(type='PackSSLInputs', keys=['points', 'img']),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='nuscenes_infos_train.pkl',
        pipeline=train_pipeline,
        metainfo=metainfo,
        modality=input_modality,
        data_prefix=data_prefix,
        camera_names=camera_names,
        with_label=False,
        bad_sample='raise',
        test_mode=False,
        box_type_3d='LiDAR',
        backend_args=backend_args))
