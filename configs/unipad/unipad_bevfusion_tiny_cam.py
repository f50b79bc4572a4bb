# Camera half of UniPAD's official fusion recipe at tiny size: the camera encoders of
# unipad_bevfusion_tiny.py pre-trained alone (colour + depth rendered from the camera volume; the
# points still give the rays, the depth targets and the LSS depth input). Merged with
# unipad_bevfusion_tiny_lidar.py by tools/merge_checkpoints.py (configs/unipad/README.md), or by the
# label-efficiency harness as the method `unipad_merged`.
_base_ = ['./unipad_bevfusion_tiny.py']
model = dict(pts_voxel_encoder=None, pts_middle_encoder=None, lidar_masker=None)
