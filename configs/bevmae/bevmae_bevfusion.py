# BEV-MAE pre-training of BEVFusion's LiDAR branch on nuScenes: the CenterPoint config with BEVFusion's
# voxeliser limits (its sparse encoder is the same). Fine-tune with the LiDAR prefixes only (the
# camera branch starts from its own init):
#   --cfg-options model.init_from.checkpoint=CKPT "model.init_from.prefix_map={'pts_voxel_encoder.':'pts_voxel_encoder.','pts_middle_encoder.':'pts_middle_encoder.'}"
_base_ = ['./bevmae_centerpoint.py']
downstream_config = 'projects/BEVFusion/configs/bevfusion_full_nus.py'
model = dict(data_preprocessor=dict(voxel_layer=dict(max_voxels=(120000, 160000))))
