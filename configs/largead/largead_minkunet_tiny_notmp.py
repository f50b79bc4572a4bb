# LargeAD Table 9 ablation on the CPU: without the spatio-temporal consistency term L_tmp (L_vfm + L_p2s +
# L_cdp). The frame pair is still loaded (L_p2s uses the joint segments of the sample's own frame).
_base_ = ['./largead_minkunet_tiny.py']
model = dict(loss_tmp=None)
