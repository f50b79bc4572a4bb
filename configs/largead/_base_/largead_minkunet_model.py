# LargeAD's method parts, to merge into a SLidR model (`model = {{_base_.largead_model}}`): SLidR's
# superpixel contrast is L_vfm (the superpixels come from the pipeline's LoadSuperpixels source: SAM, or
# the k-means-over-DINOv2 stand-in), plus L_tmp (point vs the other frame's segment means), L_p2s (point
# vs its own frame's segment means) and L_cdp (superpixel contrast with other-source negatives). tau 0.07
# and weight 1 for every term (the paper's summary gives neither; docs/largead.md). A variable, not
# `model`, so that it combines with a runnable SLidR config as well as with a SLidR model fragment.
largead_model = dict(
    type='LargeAD',
    loss_tmp=dict(type='SegmentInfoNCELoss', temperature=0.07, loss_weight=1.0),
    loss_p2s=dict(type='SegmentInfoNCELoss', temperature=0.07, loss_weight=1.0),
    loss_cdp=dict(type='CrossSourceInfoNCELoss', temperature=0.07, loss_weight=1.0))
