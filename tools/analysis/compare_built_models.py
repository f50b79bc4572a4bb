"""Do the models of two checkouts' configs build to the same modules and weights?

    python tools/analysis/compare_built_models.py OLD_ROOT NEW_ROOT OLD_CONFIG[:NEW_CONFIG] ...

For each config pair the model is built in each checkout (a subprocess with that checkout on
``PYTHONPATH``, its ``custom_imports`` imported, ``torch.manual_seed(0)`` before the build) and its
state dict is summarised as key -> (shape, dtype, float64 sum). The table says whether the key sets,
the shapes and the values agree and gives the parameter counts, so a config whose resolved ``model``
dict changed only in vocabulary (e.g. renamed arguments of a refactor) can be shown to build the
same network. ``NEW_CONFIG`` defaults to ``OLD_CONFIG``. Exit status 1 when any pair differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

_SUMMARISE = r"""
import json, sys, torch
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings
from mmssl.utils import register_all_modules
from mmssl.registry import MODELS
register_all_modules(init_default_scope=True)
cfg = Config.fromfile(sys.argv[1])
if cfg.get('custom_imports'):
    import_modules_from_strings(**cfg.custom_imports)
torch.manual_seed(0)
model = MODELS.build(cfg.model)
out = {k: [list(v.shape), str(v.dtype), float(v.double().sum())]
       for k, v in model.state_dict().items()}
n = sum(p.numel() for p in model.parameters())
print(json.dumps({'type': type(model).__name__, 'params': n, 'state': out}))
"""


def summarise(root: Path, config: str) -> dict:
    """State-dict summary of ``config`` built in checkout ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run(
        [sys.executable, '-c', _SUMMARISE, config], cwd=root, env=env, capture_output=True, text=True
    )
    if proc.returncode:
        raise RuntimeError(f'{root}/{config}: building the model failed:\n{proc.stderr[-2000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(old: dict, new: dict) -> dict:
    """Key, shape and value agreement of two summaries."""
    a, b = old['state'], new['state']
    common = sorted(set(a) & set(b))
    return dict(
        keys_only_old=sorted(set(a) - set(b)),
        keys_only_new=sorted(set(b) - set(a)),
        shape_diff=[k for k in common if a[k][:2] != b[k][:2]],
        value_diff=[k for k in common if abs(a[k][2] - b[k][2]) > 1e-6 * (1 + abs(a[k][2]))],
        params=(old['params'], new['params']),
        types=(old['type'], new['type']),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('old_root', type=Path)
    parser.add_argument('new_root', type=Path)
    parser.add_argument('pairs', nargs='+', help='OLD_CONFIG[:NEW_CONFIG] relative to the roots')
    args = parser.parse_args(argv)
    print('| old config | new config | class | parameters | keys | shapes | values |')
    print('|---|---|---|---|---|---|---|')
    failed = False
    for pair in args.pairs:
        old_cfg, _, new_cfg = pair.partition(':')
        new_cfg = new_cfg or old_cfg
        r = compare(summarise(args.old_root.resolve(), old_cfg), summarise(args.new_root.resolve(), new_cfg))
        keys = (
            'same'
            if not (r['keys_only_old'] or r['keys_only_new'])
            else (f'-{len(r["keys_only_old"])} +{len(r["keys_only_new"])}')
        )
        shapes = 'same' if not r['shape_diff'] else f'{len(r["shape_diff"])} differ'
        values = 'same' if not r['value_diff'] else f'{len(r["value_diff"])} differ'
        failed |= keys != 'same' or shapes != 'same' or values != 'same'
        types = r['types'][0] if r['types'][0] == r['types'][1] else ' -> '.join(r['types'])
        params = (
            r['params'][0] if r['params'][0] == r['params'][1] else f'{r["params"][0]} -> {r["params"][1]}'
        )
        print(f'| {old_cfg} | {new_cfg} | {types} | {params} | {keys} | {shapes} | {values} |')
    return int(failed)


if __name__ == '__main__':
    sys.exit(main())
