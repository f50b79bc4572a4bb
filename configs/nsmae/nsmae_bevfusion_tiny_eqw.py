# Ablation of nsmae_bevfusion_tiny.py: equal loss weights (1, 1, 1) instead of the paper's
# 1e4 x MSE(RGB) and 1e-2 x L1(depth) (NS-MAE Sec. III-H, eqs. 5-7). With the paper's weights the RGB term is
# about 2000x the two depth terms on the synthetic world (logged loss_rgb ~165 vs loss_depth_* ~0.04);
# with equal weights the depth terms (L1 in metres, ~3-4) dominate instead.
_base_ = ['./nsmae_bevfusion_tiny.py']
model = dict(
    loss_rgb=dict(loss_weight=1.0),
    loss_depth_per=dict(loss_weight=1.0),
    loss_depth_bev=dict(loss_weight=1.0))
