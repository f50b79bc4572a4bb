"""Rank pre-trained encoders in minutes: a linear BEV class probe and the embedding spectrum.

Example (tiny BEVFusion encoders from an NS-MAE pre-training checkpoint, synthetic world)::

    python tools/probe_features.py projects/BEVFusion/configs/bevfusion_tiny_synthetic.py \
        --checkpoint work_dirs/nsmae_bevfusion_tiny/iter_100.pth \
        --train-ann data/synthetic-nuscenes/nuscenes_infos_train.pkl --out work_dirs/probe

CONFIG is the detector config; CHECKPOINT a pre-training checkpoint (loaded through the
config's ``model.init_from`` prefix map, as fine-tuning would) or a detector checkpoint; without
it the detector's random init is probed (the baseline). The encoders stay frozen. The probe
fits a per-cell linear classifier (object classes + background, from the GT boxes) on the
frames of ``--train-ann`` (the labelled split) and scores it on ``--val-ann`` (default the
config's); it also reports the explained-variance spectrum (effective rank, AUC) of the
validation embeddings of non-empty cells. Prints both, writes ``OUT/probe.json`` and
``OUT/spectrum.png``. See mmssl/benchmarks/probe.py for the definitions.
"""

import argparse

from mmengine.config import Config, DictAction

from mmssl.benchmarks.feature_probe import run_probe, summary_lines
from mmssl.utils import register_all_modules


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detector config')
    parser.add_argument('--checkpoint', help='pre-training or detector checkpoint (default: random init)')
    parser.add_argument(
        '--train-ann', help="info file of the probe's labelled frames (default: the config's train)"
    )
    parser.add_argument('--val-ann', help="info file the probe is scored on (default: the config's val)")
    parser.add_argument('--data-root', help="dataset root instead of the config's")
    parser.add_argument(
        '--modules', help='comma-separated modules whose BEV maps are probed, or extract_feat'
    )
    parser.add_argument('--max-train-frames', type=int, help='use only the first N training frames')
    parser.add_argument('--max-val-frames', type=int, help='use only the first N validation frames')
    parser.add_argument('--bev-range', type=float, nargs=4, metavar=('X_MIN', 'Y_MIN', 'X_MAX', 'Y_MAX'))
    parser.add_argument('--seed', type=int, default=0, help='seed of the random init')
    parser.add_argument('--out', default='work_dirs/probe', help='output folder')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    train_ann = args.train_ann or cfg.train_dataloader.dataset.ann_file
    val_ann = args.val_ann or cfg.test_dataloader.dataset.ann_file
    result = run_probe(
        cfg,
        args.checkpoint,
        train_ann,
        val_ann,
        args.out,
        data_root=args.data_root,
        modules=args.modules.split(',') if args.modules else None,
        max_train_frames=args.max_train_frames,
        max_val_frames=args.max_val_frames,
        bev_range=args.bev_range,
        seed=args.seed,
    )
    print('\n'.join(summary_lines(result)), flush=True)
    print(f'wrote {args.out}/probe.json and {args.out}/spectrum.png', flush=True)
    return result


if __name__ == '__main__':
    main()
