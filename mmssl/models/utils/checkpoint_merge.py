"""Merge separately pre-trained checkpoints module by module (UniPAD's fusion recipe).

UniPAD's official fusion weights are a camera-only and a LiDAR-only pre-training merged by hand
(METHOD_FACTS 2). :func:`merge_checkpoints` does it reproducibly: each source checkpoint gives
the keys under the module prefixes assigned to it, nothing else, and the merge refuses to write
when two sources claim one prefix, a claimed prefix is absent from its source, or a key would
come from two files. The report lists, per module prefix, the source and the number of tensors
taken; keys of every source outside the claimed prefixes are counted as ``left out`` (e.g. the
render heads, which fine-tuning does not load).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

import torch

from .pretrained_init import read_state_dict


@dataclass
class MergeReport:
    """Per module prefix: the source file and the number of tensors taken; per source: keys left out."""

    taken: Dict[str, tuple] = field(default_factory=OrderedDict)
    left_out: Dict[str, int] = field(default_factory=OrderedDict)

    def table(self) -> str:
        head = f'{"module":<28}{"source":<48}{"tensors":>8}'
        rows = [head, '-' * len(head)]
        rows += [f'{p:<28}{src:<48}{n:>8}' for p, (src, n) in self.taken.items()]
        rows.append(f'{"total":<28}{"":<48}{sum(n for _, n in self.taken.values()):>8}')
        rows += [
            f'left out of {src}: {n} tensors outside the merged modules' for src, n in self.left_out.items()
        ]
        return '\n'.join(rows)


def merge_checkpoints(sources: Sequence[tuple]) -> tuple:
    """Merge ``[(checkpoint path, [module prefixes]), ...]`` into one state dict.

    Args:
        sources: each checkpoint with the module prefixes (e.g. ``'img_backbone.'``) it gives.

    Returns:
        ``(state_dict, MergeReport)``; the state dict is ordered by source, then key.

    Raises:
        ValueError: a prefix is claimed twice, a claimed prefix has no key in its source, or the
            prefixes overlap so that a key would come from two sources.
    """
    claimed: Dict[str, str] = {}
    for path, prefixes in sources:
        for prefix in prefixes:
            if prefix in claimed:
                raise ValueError(f'module {prefix!r} is claimed by {claimed[prefix]} and {path}')
            claimed[prefix] = str(path)
    for a in claimed:
        for b in claimed:
            if a != b and b.startswith(a) and claimed[a] != claimed[b]:
                raise ValueError(f'overlapping modules {a!r} ({claimed[a]}) and {b!r} ({claimed[b]})')
    merged: Dict[str, torch.Tensor] = OrderedDict()
    report = MergeReport()
    for path, prefixes in sources:
        state = read_state_dict(str(path))
        used = 0
        for prefix in prefixes:
            keys: List[str] = [k for k in state if k.startswith(prefix)]
            if not keys:
                raise ValueError(f'{path} has no key under {prefix!r}')
            for k in keys:
                merged[k] = state[k]
            used += len(keys)
            report.taken[prefix] = (str(path), len(keys))
        report.left_out[str(path)] = len(state) - used
    return merged, report
