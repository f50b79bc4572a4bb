# Ablation of nsmae_bevfusion_tiny.py: the render volume at twice the z resolution (16 levels of
# 0.5 m over the 8 m height instead of 8 of 1 m); the BEV grid stays the encoders' (0.8 m cells).
_base_ = ['./nsmae_bevfusion_tiny.py']
model = dict(render_z_bins=16)
