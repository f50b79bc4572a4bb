"""MMDet3D v1.1 info files of a nuScenes-format dataset, by MMDet3D's own converter.

Runs the converter code that ships in the mmdet3d package (``mmdet3d/.mim/tools/
dataset_converters``): ``nuscenes_converter.create_nuscenes_infos`` writes the legacy infos and
``update_infos_to_v2.update_pkl_infos`` turns them into the v1.1 ``data_list`` format, exactly as
MMDet3D 1.4's ``tools/create_data.py nuscenes`` does. The same path serves real nuScenes and the
synthetic world.

Glue (the only deviations from MMDet3D's script): the converter modules are loaded from their
files (``.mim`` is not an importable package name), and ``update_nuscenes_infos`` opens the devkit
at the hard-coded ``./data/nuscenes``; its ``NuScenes`` is replaced by one that opens ``root``.
Where the root has nuScenes-lidarseg labels (``<version>/lidarseg.json``, written by the
synthetic world), the converter itself records each keyframe's label file: the v1.1 infos carry
``pts_semantic_mask_path``, the file name ``<lidar sample_data token>_lidarseg.bin`` (resolved
against ``data_prefix['pts_semantic_mask'] = 'lidarseg/<version>'``, as ``lidar_points.lidar_path``
is against ``data_prefix['pts']``).

An empty split (e.g. no val scene in a one-scene world) makes ``update_nuscenes_infos`` fail
(``ignore_class_name`` is only bound inside its loop); its v1.1 file is written here instead,
with the metainfo that function writes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path
from types import ModuleType

import mmengine

__all__ = ['create_infos', 'converter_dir', 'load_converter_module']


def converter_dir() -> Path:
    """Folder of MMDet3D's dataset converters inside the installed mmdet3d package."""
    import mmdet3d

    path = Path(mmdet3d.__file__).parent / '.mim' / 'tools' / 'dataset_converters'
    if not (path / 'nuscenes_converter.py').is_file():
        raise FileNotFoundError(
            f'MMDet3D dataset converters not found in {path}: the mmdet3d package lacks its '
            '.mim/tools folder (install mmdet3d==1.4.0 from PyPI)'
        )
    return path


def load_converter_module(name: str) -> ModuleType:
    """Import ``<converter_dir>/<name>.py`` as module ``mmdet3d_converters.<name>`` (cached)."""
    mod_name = f'mmdet3d_converters.{name}'
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, converter_dir() / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module


_NUS_CLASSES = (
    'car',
    'truck',
    'trailer',
    'bus',
    'construction_vehicle',
    'bicycle',
    'motorcycle',
    'pedestrian',
    'traffic_cone',
    'barrier',
)


def _write_empty_infos(path: Path, version: str) -> None:
    """v1.1 info file without samples, with the metainfo of ``update_nuscenes_infos``."""
    metainfo = dict(
        categories={k: i for i, k in enumerate(_NUS_CLASSES)},
        dataset='nuscenes',
        version=version,
        info_version='1.1',
    )
    mmengine.dump(dict(metainfo=metainfo, data_list=[]), str(path), 'pkl')


def create_infos(
    root: str | Path,
    version: str = 'v1.0-mini',
    out_dir: str | Path | None = None,
    info_prefix: str = 'nuscenes',
    max_sweeps: int = 10,
    with_gt_database: bool = False,
    quiet: bool = False,
) -> dict[str, Path]:
    """Create ``{info_prefix}_infos_{train,val}.pkl`` (MMDet3D v1.1 format) for a nuScenes root.

    Args:
        root: dataset root holding ``<version>/*.json``, ``samples/`` and ``sweeps/``.
        version: 'v1.0-mini', 'v1.0-trainval' or 'v1.0-test'.
        out_dir: where the v1.1 info files go (default: ``root``). The converter always writes its
            legacy infos into ``root``; they are replaced (``out_dir == root``) or removed.
        info_prefix: file name prefix.
        max_sweeps: LiDAR sweeps recorded per keyframe.
        with_gt_database: also build the ground-truth database for GT sampling
            (``create_gt_database.create_groundtruth_database``), as MMDet3D's script does.
        quiet: silence the converter's print() output (MMEngine's progress bars still show).

    Returns:
        Paths of the info files: {'train': ..., 'val': ...} or {'test': ...}.
    """
    root = Path(root)
    out = Path(out_dir) if out_dir is not None else root
    out.mkdir(parents=True, exist_ok=True)
    if not (root / version).is_dir():
        raise FileNotFoundError(f'nuScenes tables {root / version} not found (version {version!r})')
    converter = load_converter_module('nuscenes_converter')
    updater = load_converter_module('update_infos_to_v2')
    from nuscenes.nuscenes import NuScenes

    splits = ('test',) if version == 'v1.0-test' else ('train', 'val')
    sink = io.StringIO() if quiet else None
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        converter.create_nuscenes_infos(str(root), info_prefix, version=version, max_sweeps=max_sweeps)
        cache: dict[str, NuScenes] = {}

        def open_root(version: str, dataroot: str = '', verbose: bool = True) -> NuScenes:
            if version not in cache:
                cache[version] = NuScenes(version=version, dataroot=str(root), verbose=verbose)
            return cache[version]

        original = updater.NuScenes
        updater.NuScenes = open_root
        paths = {}
        try:
            for split in splits:
                legacy = root / f'{info_prefix}_infos_{split}.pkl'
                if len(mmengine.load(legacy)['infos']) == 0:
                    _write_empty_infos(out / legacy.name, version)
                else:
                    updater.update_pkl_infos('nuscenes', out_dir=str(out), pkl_path=str(legacy))
                paths[split] = out / legacy.name
                if out.resolve() != root.resolve():
                    os.remove(legacy)
        finally:
            updater.NuScenes = original
        if with_gt_database:
            from mmdet3d.utils import register_all_modules
            from mmengine.registry import DefaultScope

            register_all_modules(init_default_scope=False)
            gt_db = load_converter_module('create_gt_database')
            with DefaultScope.overwrite_default_scope('mmdet3d'):
                gt_db.create_groundtruth_database(
                    'NuScenesDataset', str(root), info_prefix, str(paths['train'])
                )
    return paths
