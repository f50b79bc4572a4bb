"""Merge a camera-only and a LiDAR-only pre-training into one checkpoint (UniPAD's fusion recipe).

    python tools/merge_checkpoints.py \
        --source work_dirs/unipad_bevdet_tiny/iter_1200.pth img_backbone. img_neck. view_transform. \
        --source work_dirs/unipad_centerpoint_tiny/iter_1200.pth pts_middle_encoder. \
        --out work_dirs/unipad_merged.pth

Each ``--source`` is a checkpoint followed by the module prefixes taken from it; the key table is
printed and the merged file is an MMEngine checkpoint (``state_dict`` and ``meta.merged_from``)
that a detector's ``init_from`` reads like any pre-training checkpoint
(``mmssl.models.utils.checkpoint_merge``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from mmssl.models.utils.checkpoint_merge import merge_checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description='Merge pre-training checkpoints module by module')
    parser.add_argument(
        '--source',
        nargs='+',
        action='append',
        required=True,
        metavar=('CHECKPOINT', 'PREFIX'),
        help='a checkpoint and the module prefixes it gives (repeat per checkpoint)',
    )
    parser.add_argument('--out', required=True, help='merged checkpoint to write')
    args = parser.parse_args()
    sources = []
    for entry in args.source:
        if len(entry) < 2:
            raise SystemExit(f'--source {entry[0]}: name at least one module prefix after the checkpoint')
        sources.append((entry[0], entry[1:]))
    state, report = merge_checkpoints(sources)
    print(report.table())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(merged_from=[dict(checkpoint=str(p), modules=list(m)) for p, m in sources])
    torch.save(dict(state_dict=state, meta=meta), out)
    print(f'wrote {out} ({len(state)} tensors)')


if __name__ == '__main__':
    main()
