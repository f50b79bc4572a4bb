# KITTI self-supervised pre-training data (no labels): LiDAR (x, y, z, reflectance) + CAM2 at
# 256x832, AD-L-JEPA's BEV-guided masking (50% of the non-empty and 50% of the empty 0.4 m BEV
# cells: voxel 0.05 m x encoder stride 8) and 50% of 8x8 image patches.
# AD-L-JEPA's official code keeps GT-sampling on in pre-training; this config does not (no labels
# reach pre-training here, a documented deviation).
dataset_type = 'KittiSSLDataset'
data_root = 'data/kitti/'
class_names = ['Pedestrian', 'Cyclist', 'Car']
metainfo = dict(classes=class_names)
point_cloud_range = [0.0, -40.0, -3.0, 70.4, 40.0, 1.0]
voxel_size = [0.05, 0.05, 0.1]
bev_cell_size = [0.4, 0.4]
image_size = [256, 832]  # (H, W) network input, from 375 x 1242
img_resize_lim = [0.69, 0.8]
img_rot_lim = [-5.4, 5.4]
img_patch_size = 8
img_mask_ratio = 0.5
bev_mask_ratio = 0.5
camera_names = ['CAM2']
input_modality = dict(use_lidar=True, use_camera=True)
data_prefix = dict(pts='training/velodyne_reduced', img='training/image_2')
backend_args = None

train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4,
         backend_args=backend_args),
    dict(type='LoadSSLMultiViewImages', camera_names=camera_names, backend_args=backend_args),
    dict(type='ImageAug3D', final_dim=image_size, resize_lim=img_resize_lim,
         bot_pct_lim=[0.0, 0.0], rot_lim=img_rot_lim, rand_flip=True, is_train=True),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.78539816, 0.78539816],
         scale_ratio_range=[0.95, 1.05], translation_std=0.0),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='ImagePatchMask', ratio=img_mask_ratio, patch_size=img_patch_size),
    dict(type='BEVGuidedMask', point_cloud_range=point_cloud_range, bev_cell_size=bev_cell_size,
         ratio_nonempty=bev_mask_ratio, ratio_empty=bev_mask_ratio),
    dict(type='PackSSLInputs', keys=['points', 'img']),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='kitti_infos_train.pkl',
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
