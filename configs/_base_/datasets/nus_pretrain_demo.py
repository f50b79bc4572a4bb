# nus_pretrain on the one real nuScenes keyframe of ../shared/data/nuscenes_demo (file names
# lie directly in that folder; no sweeps, so the keyframe is repeated as BEVFusion pads).
# Used by tools/benchmark_pipeline.py and the tests; run from the repository root.
_base_ = ['./nus_pretrain.py']

data_root = '../shared/data/nuscenes_demo/'
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='n015-2018-07-24-11-22-45+0800.pkl',
        data_prefix=dict(_delete_=True, pts='', sweeps='', img='')))
