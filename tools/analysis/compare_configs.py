"""Do the configs of two checkouts resolve to the same model, pipelines and runtime?

    python tools/analysis/compare_configs.py OLD_ROOT NEW_ROOT [--mapping FILE] [--json OUT]

Every ``*.py`` file under ``configs/`` and ``projects/*/configs/`` of OLD_ROOT is loaded with
MMEngine's ``Config.fromfile`` (``_base_`` lists, ``{{_base_.x}}`` references and ``mmdet3d::``
bases resolved; ``custom_imports`` not imported), and so is its counterpart in NEW_ROOT. A file
that moved is found through an explicit old -> new path mapping, taken from ``--mapping`` or,
by default, from ``git diff -M --name-status <OLD_ROOT's HEAD>`` run in NEW_ROOT (both
checkouts must then share the repository). The mapping file holds one ``OLD NEW`` pair per
line, or the ``R<score> OLD NEW`` lines git prints.

Each pair is compared in three parts:

- ``model``: the resolved ``model`` dict;
- ``pipelines``: every ``pipeline`` list inside ``train_dataloader``, ``val_dataloader`` and
  ``test_dataloader`` (dataset wrappers included);
- ``rest``: every other key (the dataloaders without their pipelines included).

Before comparing, string values that name a moved file (an old path of the mapping, relative to
the root or under the root's absolute path) are rewritten to the new path, and the roots'
absolute paths are replaced by ``<root>``, so a config whose only change is a moved reference
counts as the same (the table says how many values were remapped). The printed table gives
``same`` / ``DIFF`` per part and the differing keys as dotted paths. The exit status is 1 when
any pair differs, a file could not be loaded, or a config was removed; 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
PARTS = ('model', 'pipelines', 'rest')
MAX_KEYS_SHOWN = 6


@dataclass
class PairResult:
    """The comparison of one config in the old and the new checkout.

    Attributes:
        old: Path relative to the old root (``None`` for a config only the new root has).
        new: Path relative to the new root (``None`` for a removed config).
        status: ``'compared'``, ``'added'``, ``'removed'`` or ``'error'``.
        diffs: Per part (``model``, ``pipelines``, ``rest``), the differing dotted keys.
        remapped: Number of string values rewritten through the path mapping.
        error: Loading error message, when ``status == 'error'``.
    """

    old: str | None
    new: str | None
    status: str
    diffs: dict[str, list[str]] = field(default_factory=dict)
    remapped: int = 0
    error: str = ''

    @property
    def same(self) -> bool:
        """Whether every part is equal (only for compared pairs)."""
        return self.status == 'compared' and not any(self.diffs.values())


def config_files(root: Path) -> list[str]:
    """Config files of a checkout, relative to its root, sorted.

    Args:
        root: Repository root.

    Returns:
        Paths of every ``*.py`` under ``configs/`` and ``projects/*/configs/``.
    """
    found = list((root / 'configs').rglob('*.py'))
    for project in sorted((root / 'projects').glob('*/configs')):
        found.extend(project.rglob('*.py'))
    return sorted(str(p.relative_to(root)) for p in found if '__pycache__' not in p.parts)


def parse_mapping(text: str) -> dict[str, str]:
    """Parse an old -> new mapping.

    Args:
        text: Lines of ``OLD NEW`` or git's ``--name-status`` lines (``R<score> OLD NEW``;
            ``C`` copies are taken too, other statuses are ignored).

    Returns:
        Old path -> new path, both relative to their roots.
    """
    mapping = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith('#'):
            continue
        if fields[0][0] in 'RC' and fields[0][1:].isdigit() and len(fields) == 3:
            fields = fields[1:]
        elif fields[0] in ('A', 'D', 'M', 'T') and len(fields) == 2:
            continue
        if len(fields) != 2:
            raise ValueError(f'mapping line {lineno}: expected "OLD NEW", got {line!r}')
        mapping[fields[0]] = fields[1]
    return mapping


def git_mapping(old_root: Path, new_root: Path) -> dict[str, str]:
    """Renames from the old checkout's commit to the new checkout's working tree.

    Args:
        old_root: Old checkout (its ``HEAD`` is the base of the diff).
        new_root: New checkout, where ``git diff -M --name-status`` runs.

    Returns:
        Old path -> new path of every file git detects as renamed.
    """
    commit = subprocess.run(
        ['git', '-C', str(old_root), 'rev-parse', 'HEAD'], check=True, capture_output=True, text=True
    ).stdout.strip()
    diff = subprocess.run(
        ['git', '-C', str(new_root), 'diff', '-M', '--name-status', commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_mapping(diff)


def load_config(path: Path) -> dict:
    """Resolve a config file to a plain dict (no custom imports).

    Args:
        path: Config file.

    Returns:
        The resolved config as nested dicts and lists.
    """
    from mmengine.config import Config

    cfg = Config.fromfile(str(path), import_custom_modules=False)
    return to_plain(cfg.to_dict())


def to_plain(value: Any) -> Any:
    """Nested ConfigDicts / tuples as plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


class PathNormalizer:
    """Rewrites moved paths and checkout roots inside string values.

    Args:
        mapping: Old relative path -> new relative path.
        roots: Absolute roots of both checkouts, replaced by ``<root>``.
        rewrite_moved: Whether to apply ``mapping`` (``False`` for the new checkout's values).
    """

    def __init__(self, mapping: dict[str, str], roots: list[Path], rewrite_moved: bool) -> None:
        self.mapping = mapping if rewrite_moved else {}
        self.roots = sorted({str(r.resolve()) for r in roots}, key=len, reverse=True)
        self.count = 0

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, str):
            return value
        for root in self.roots:
            if value == root or value.startswith(root + '/'):
                value = '<root>' + value[len(root) :]
                break
        relative = value[len('<root>/') :] if value.startswith('<root>/') else value
        if relative in self.mapping:
            self.count += 1
            new = self.mapping[relative]
            return '<root>/' + new if value.startswith('<root>/') else new
        return value


def split_parts(cfg: dict) -> dict[str, Any]:
    """Split a resolved config into ``model``, ``pipelines`` and ``rest``.

    Args:
        cfg: Resolved config (plain dict).

    Returns:
        ``model``: the model dict (or ``None``); ``pipelines``: dotted location -> pipeline list
        for every ``pipeline`` key inside the dataloaders; ``rest``: everything else, the
        dataloaders without their pipelines.
    """
    rest = {k: v for k, v in cfg.items() if k != 'model'}
    pipelines: dict[str, Any] = {}

    def pop_pipelines(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == 'pipeline':
                    pipelines[f'{where}.pipeline'] = value
                else:
                    out[key] = pop_pipelines(value, f'{where}.{key}')
            return out
        if isinstance(node, list):
            return [pop_pipelines(v, f'{where}[{i}]') for i, v in enumerate(node)]
        return node

    for name in DATALOADERS:
        if name in rest:
            rest[name] = pop_pipelines(rest[name], name)
    return dict(model=cfg.get('model'), pipelines=pipelines, rest=rest)


def diff_keys(a: Any, b: Any, where: str = '') -> list[str]:
    """Dotted paths at which two nested values differ.

    Args:
        a: Old value.
        b: New value.
        where: Dotted path of ``a`` / ``b`` (empty at the top).

    Returns:
        The differing paths; a key present on one side only is marked ``(+)`` (new only) or
        ``(-)`` (old only), lists of different length ``(len m != n)``.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            sub = f'{where}.{key}' if where else str(key)
            if key not in b:
                out.append(f'{sub} (-)')
            elif key not in a:
                out.append(f'{sub} (+)')
            else:
                out.extend(diff_keys(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f'{where or "<top>"} (len {len(a)} != {len(b)})']
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(diff_keys(x, y, f'{where}[{i}]'))
        return out
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
    if type(a) is not type(b) and not numbers:
        return [where or '<top>']
    return [] if a == b else [where or '<top>']


def compare_roots(old_root: Path, new_root: Path, mapping: dict[str, str]) -> list[PairResult]:
    """Compare every config of ``old_root`` with its counterpart in ``new_root``.

    Args:
        old_root: Old checkout.
        new_root: New checkout.
        mapping: Old -> new relative path of moved files (others keep their path).

    Returns:
        One result per old config, then one per config only the new root has.
    """
    old_files = config_files(old_root)
    new_files = set(config_files(new_root))
    results, matched = [], set()
    roots = [old_root, new_root]
    for old in old_files:
        new = mapping.get(old, old)
        if new not in new_files:
            results.append(PairResult(old, None, 'removed'))
            continue
        matched.add(new)
        try:
            old_norm = PathNormalizer(mapping, roots, rewrite_moved=True)
            old_cfg = old_norm(load_config(old_root / old))
            new_cfg = PathNormalizer(mapping, roots, rewrite_moved=False)(load_config(new_root / new))
        except Exception as e:  # report every file, keep going
            results.append(PairResult(old, new, 'error', error=f'{type(e).__name__}: {e}'))
            continue
        a, b = split_parts(old_cfg), split_parts(new_cfg)
        diffs = {part: diff_keys(a[part], b[part]) for part in PARTS}
        results.append(PairResult(old, new, 'compared', diffs=diffs, remapped=old_norm.count))
    for new in sorted(new_files - matched):
        results.append(PairResult(None, new, 'added'))
    return results


def format_table(results: list[PairResult]) -> str:
    """The results as a Markdown table plus a one-line summary."""
    lines = [
        '| old config | new config | model | pipelines | rest | differing keys / note |',
        '|---|---|---|---|---|---|',
    ]
    for r in results:
        old = r.old or '-'
        new = r.new if r.new and r.new != r.old else ('(same path)' if r.new else '-')
        if r.status != 'compared':
            note = r.error.splitlines()[0][:160] if r.error else ''
            lines.append(f'| {old} | {new} | {r.status} | | | {note} |')
            continue
        cells = ['same' if not r.diffs[p] else 'DIFF' for p in PARTS]
        keys = [k for p in PARTS for k in r.diffs[p]]
        note = ', '.join(keys[:MAX_KEYS_SHOWN])
        if len(keys) > MAX_KEYS_SHOWN:
            note += f', ... ({len(keys)} keys)'
        if r.remapped:
            note = (note + '; ' if note else '') + f'{r.remapped} moved path(s) remapped'
        lines.append(f'| {old} | {new} | {" | ".join(cells)} | {note} |')
    counts = {s: sum(r.status == s for r in results) for s in ('compared', 'added', 'removed', 'error')}
    same = sum(r.same for r in results)
    lines.append('')
    lines.append(
        f'{counts["compared"]} compared: {same} same, {counts["compared"] - same} different; '
        f'{counts["added"]} added, {counts["removed"]} removed, {counts["error"]} not loadable'
    )
    return '\n'.join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('old_root', type=Path, help='old checkout (repository root)')
    parser.add_argument('new_root', type=Path, help='new checkout (repository root)')
    parser.add_argument(
        '--mapping',
        type=Path,
        help='old -> new path mapping file ("OLD NEW" or git --name-status lines); '
        'default: git diff -M --name-status <old HEAD> in NEW_ROOT',
    )
    parser.add_argument('--json', type=Path, help='also write the results as JSON')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    old_root, new_root = args.old_root.resolve(), args.new_root.resolve()
    for root in (old_root, new_root):
        if not (root / 'configs').is_dir():
            sys.exit(f'{root}: no configs/ folder; give repository roots')
    if args.mapping:
        mapping = parse_mapping(args.mapping.read_text())
        source = str(args.mapping)
    else:
        mapping = git_mapping(old_root, new_root)
        source = f'git diff -M --name-status in {new_root}'
    print(f'# configs of {old_root} -> {new_root}')
    print(f'# path mapping ({source}): {len(mapping)} moved file(s)')
    for old, new in sorted(mapping.items()):
        print(f'#   {old} -> {new}')
    print()
    results = compare_roots(old_root, new_root, mapping)
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))
    bad = [r for r in results if r.status in ('removed', 'error') or (r.status == 'compared' and not r.same)]
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
