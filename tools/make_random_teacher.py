"""Write the randomly initialised teacher weights a config declares (``random_teacher_weights``).

    python tools/make_random_teacher.py CONFIG [--overwrite]

For machines without the released DINOv2 files (nothing is downloaded): see
``mmssl/models/target_generators/random_weights.py``. Results built on such a teacher must say so.
"""

from __future__ import annotations

import argparse
import json

from mmengine.config import Config

from mmssl.models.target_generators import write_random_teacher


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config with a top-level random_teacher_weights entry')
    parser.add_argument('--overwrite', action='store_true', help='rewrite an existing file')
    args = parser.parse_args(argv)
    spec = Config.fromfile(args.config).get('random_teacher_weights')
    if spec is None:
        raise SystemExit(f'{args.config} declares no random_teacher_weights')
    info = write_random_teacher(spec['arch'], spec['checkpoint'], spec['seed'], overwrite=args.overwrite)
    state = 'written' if info['written'] else 'exists, left as is'
    print(f'RANDOM-INIT {info["arch"]} (seed {info["seed"]}) -> {info["checkpoint"]}: {state}', flush=True)
    print(json.dumps(info), flush=True)
    return info


if __name__ == '__main__':
    main()
