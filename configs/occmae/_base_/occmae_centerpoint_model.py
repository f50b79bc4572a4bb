# Occupancy-MAE model on the CenterPoint embedding network (the encoders of
# projects/CenterPoint/configs/centerpoint_full_nus.py, checked by
# tests/test_configs/test_lidar_pretrain_configs.py). Paper defaults: range-aware masking in
# metres from the sensor (bands [0, 30], (30, 50], (50, inf) m, ratios 0.9 / 0.7 / 0.7), masked
# voxels dropped; 3D transposed-conv decoder to the input grid (128 x 2 x 180 x 180 -> 40 x 1440 x
# 1440); BCE over the dense grid. The official code's effective masking (METHOD_FACTS 5):
# lidar_masker.range_distance='corner_index', range_ratios=(0.5, 0.3, 0.3).
_base_ = ['../../_base_/models/centerpoint_lidar_encoders_nus_model.py']
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
occmae_pcr = {{_base_.lidar_pcr}}
occmae_voxel_size = {{_base_.lidar_voxel_size}}
occmae_lidar_channels = 128
model = dict(
    type='OccupancyMAE',
    lidar_channels=occmae_lidar_channels,
    point_cloud_range=occmae_pcr,
    voxel_size=occmae_voxel_size,
    lidar_masker=dict(type='VoxelMasker', point_cloud_range=occmae_pcr, voxel_size=occmae_voxel_size,
                      mode='range_aware', range_band_edges=(30.0, 50.0), range_ratios=(0.9, 0.7, 0.7),
                      range_distance='sensor'),
    decoder=dict(type='OccupancyDecoder3D', in_channels=occmae_lidar_channels, channels=(32, 8),
                 strides=((2, 2, 2), (5, 2, 2), (2, 2, 2))),
    loss_occ=dict(type='OccupancyBCELoss', pos_weight=None, loss_weight=1.0))
