# Tiny AD-L-JEPA pre-training of the tiny BEVFusion's LiDAR branch (its sparse encoder and voxels equal the
# tiny CenterPoint's): the CenterPoint-tiny config with BEVFusion as the downstream model. Fine-tune
# with the LiDAR prefixes only (see adljepa_bevfusion.py).
_base_ = ['./adljepa_centerpoint_tiny.py']
downstream_config = 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'
