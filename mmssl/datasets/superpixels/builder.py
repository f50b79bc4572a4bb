"""Compute the superpixel maps of every (sample, camera) of an info file (``tools/make_superpixels.py``).

The camera images are read as the pre-training pipeline reads them: the dataset class of the
info file (``NuScenesSSLDataset`` by default) in test mode with ``LoadSSLMultiViewImages`` as its
only transform, so the same paths, cameras, checks and decoding (BGR uint8, converted to RGB for
the source). Work is split by sample; a sample whose maps are all complete is not even loaded,
and of a loaded sample only the missing cameras are segmented.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Dict, List

from mmssl.utils.atomic_io import remove_stale_tmp_files

from ..errors import BadSampleError
from .sources import SuperpixelSource, build_superpixel_source
from .storage import map_complete, map_path, source_dir, update_meta, write_map

#: nuScenes' folder of each camera's images below the data root (``samples/<camera>``).
NUSCENES_CAMERAS = (
    'CAM_FRONT',
    'CAM_FRONT_RIGHT',
    'CAM_FRONT_LEFT',
    'CAM_BACK',
    'CAM_BACK_LEFT',
    'CAM_BACK_RIGHT',
)


def image_dataset_cfg(
    info_file: str | Path,
    data_root: str | Path,
    dataset_type: str = 'NuScenesSSLDataset',
    img_prefix: str | None = None,
    cameras: Sequence[str] | None = None,
) -> Dict[str, Any]:
    """Config of a test-mode dataset that only loads the camera images of ``info_file``.

    Args:
        info_file: MMDet3D v1.1 info ``.pkl`` (absolute, or relative to ``data_root``; a path
            that exists from the working directory is taken as such by
            :func:`build_superpixel_cache`).
        data_root: folder the info's image paths are relative to.
        dataset_type: a registered dataset (``NuScenesSSLDataset``, ``KittiSSLDataset``).
        img_prefix: folder of every camera's images below ``data_root`` (``''``: directly in it);
            ``None``: nuScenes' ``samples/<camera>``.
        cameras: cameras to segment, in this order; ``None``: every camera with an image.
    """
    if img_prefix is None:
        data_prefix = {cam: f'samples/{cam}' for cam in NUSCENES_CAMERAS}
    else:
        data_prefix = dict(img=img_prefix)
    cams = list(cameras) if cameras else None
    return dict(
        type=dataset_type,
        data_root=str(data_root),
        ann_file=str(info_file),
        data_prefix=data_prefix,
        pipeline=[dict(type='LoadSSLMultiViewImages', camera_names=cams)],
        modality=dict(use_lidar=False, use_camera=True),
        camera_names=cams,
        with_label=False,
        test_mode=True,
    )


def sample_cameras(info: Dict[str, Any]) -> List[str]:
    """The cameras ``LoadSSLMultiViewImages`` loads for a parsed sample info (those with an image)."""
    return [cam for cam, v in info.get('images', {}).items() if 'img_path' in v]


def segment_sample(
    dataset, index: int, source: SuperpixelSource, folder: Path, cameras: Sequence[str]
) -> Dict:
    """Segment and store the given cameras of one sample.

    Returns:
        ``dict(token, segments={camera: K}, shapes={camera: (H, W)}, error=None | str)``; a sample
        whose images cannot be loaded (:class:`BadSampleError`) gets ``error`` and no maps.
    """
    info = dataset.get_data_info(index)
    token = str(info.get('token', info.get('sample_idx', index)))
    out: Dict[str, Any] = dict(token=token, segments={}, shapes={}, error=None)
    try:
        results = dataset[index]
    except BadSampleError as err:
        out['error'] = str(err)
        return out
    names = list(results['cam_names'])
    for cam in cameras:
        bgr = results['img'][names.index(cam)]
        ids = source(bgr[..., ::-1])
        write_map(map_path(folder, token, cam), ids)
        out['segments'][cam] = int(ids.max()) + 1
        out['shapes'][cam] = tuple(int(s) for s in ids.shape)
    return out


_WORKER: Dict[str, Any] = {}


def _init_worker(dataset_cfg: Dict[str, Any], source_cfg: Dict[str, Any], folder: str) -> None:
    from mmssl.registry import DATASETS
    from mmssl.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    _WORKER.update(
        dataset=DATASETS.build(dataset_cfg), source=build_superpixel_source(source_cfg), folder=Path(folder)
    )


def _work(index: int, cameras: Sequence[str]) -> Dict:
    return segment_sample(_WORKER['dataset'], index, _WORKER['source'], _WORKER['folder'], cameras)


def build_superpixel_cache(
    info_file: str | Path,
    data_root: str | Path,
    cache_root: str | Path,
    source: str | Dict[str, Any] | SuperpixelSource = 'slic',
    dataset_type: str = 'NuScenesSSLDataset',
    img_prefix: str | None = None,
    cameras: Sequence[str] | None = None,
    max_samples: int | None = None,
    workers: int = 1,
    log: Callable[[str], None] | None = print,
    log_interval: float = 10.0,
) -> Dict[str, Any]:
    """Compute and store the superpixels of every (sample, camera) of ``info_file`` that lacks them.

    Args:
        info_file, data_root, dataset_type, img_prefix, cameras: see :func:`image_dataset_cfg`.
        cache_root: root of the cache (layout in :mod:`.storage`).
        source: superpixel source (name, config or instance).
        max_samples: only the first ``max_samples`` samples.
        workers: processes segmenting samples in parallel (``1``: this process). They are
            started with ``spawn`` (each builds the dataset once), so call this from a script
            guarded by ``if __name__ == '__main__':``.
        log: where progress lines go (``None``: silent).
        log_interval: seconds between progress lines.

    Returns:
        ``dict(folder, samples, images, computed, skipped, failed, mean_segments, seconds,
        images_per_s)``: ``computed`` / ``skipped`` count images, ``failed`` lists
        ``'<token>: <reason>'`` of samples whose images could not be loaded (no maps written),
        ``mean_segments`` is over the computed images (``None`` when none was), and
        ``images_per_s`` counts the time from the first computed sample (workers' start included).
    """
    from mmssl.registry import DATASETS

    start = time.perf_counter()
    data_root = Path(data_root).resolve()
    if Path(info_file).is_file():  # a path from here; otherwise relative to the data root
        info_file = Path(info_file).resolve()
    source = build_superpixel_source(source)
    folder = source_dir(cache_root, source)
    folder.mkdir(parents=True, exist_ok=True)
    build = dict(info=str(info_file), data_root=str(data_root))
    update_meta(folder, source, build=build)
    ds_cfg = image_dataset_cfg(info_file, data_root, dataset_type, img_prefix, cameras)
    dataset = DATASETS.build(ds_cfg)
    count = len(dataset) if max_samples is None else min(len(dataset), int(max_samples))
    tasks, skipped, total_images = [], 0, 0
    for index in range(count):
        info = dataset.get_data_info(index)
        token = str(info.get('token', info.get('sample_idx', index)))
        cams = sample_cameras(info)
        total_images += len(cams)
        remove_stale_tmp_files(map_path(folder, token, 'any').parent)
        missing = [c for c in cams if not map_complete(map_path(folder, token, c))]
        skipped += len(cams) - len(missing)
        if missing:
            tasks.append((index, missing))
    todo = sum(len(m) for _, m in tasks)
    if log is not None:
        log(f'{folder}: {count} samples, {total_images} images: {skipped} complete, {todo} to compute')
    done: List[Dict] = []
    state = dict(images=0, last=time.perf_counter())
    compute_start = time.perf_counter()

    def record(res: Dict) -> None:
        done.append(res)
        state['images'] += len(res['segments'])
        now = time.perf_counter()
        if log is not None and (now - state['last'] >= log_interval or len(done) == len(tasks)):
            rate = state['images'] / max(now - compute_start, 1e-9)
            eta = (todo - state['images']) / rate if rate > 0 else float('inf')
            log(
                f'[{len(done)}/{len(tasks)} samples] {state["images"]}/{todo} images, '
                f'{rate:.2f} images/s, ETA {eta:.0f} s'
            )
            state['last'] = now

    if workers <= 1 or len(tasks) <= 1:
        for index, missing in tasks:
            record(segment_sample(dataset, index, source, folder, missing))
    else:
        ctx = get_context('spawn')
        init = (ds_cfg, source.config(), str(folder))
        with ProcessPoolExecutor(
            int(workers), mp_context=ctx, initializer=_init_worker, initargs=init
        ) as pool:
            futures = [pool.submit(_work, index, missing) for index, missing in tasks]
            for future in as_completed(futures):
                record(future.result())
    shapes: Dict[str, Any] = {}
    for res in done:
        shapes.update(res['shapes'])
    update_meta(folder, source, image_shapes=shapes)
    segments = [k for res in done for k in res['segments'].values()]
    seconds = time.perf_counter() - start
    compute_seconds = time.perf_counter() - compute_start
    return dict(
        folder=str(folder),
        samples=count,
        images=total_images,
        computed=len(segments),
        skipped=skipped,
        failed=[f'{r["token"]}: {r["error"]}' for r in done if r['error'] is not None],
        mean_segments=sum(segments) / len(segments) if segments else None,
        seconds=seconds,
        images_per_s=len(segments) / compute_seconds if segments else None,
    )
