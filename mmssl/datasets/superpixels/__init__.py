"""Superpixels for SLidR-style image-to-LiDAR distillation: sources, a disk cache and its builder.

* :mod:`.sources`: :class:`SuperpixelSource` and the registered sources (``SUPERPIXELS``
  registry): :class:`SLICSuperpixels` (SLidR's SLIC, ``'slic'``);
* :mod:`.sam`: :class:`SAMSuperpixels` (``'sam'``, Seal / LargeAD's SAM masks; segment-anything is
  imported only when a model is built) and :func:`paint_masks`;
* :mod:`.feature_kmeans`: :class:`FeatureKMeansSuperpixels` (``'kmeans'``, k-means over a frozen
  DINOv2 teacher's patch features, the stand-in where no SAM weights exist);
* :mod:`.storage`: the cache layout ``<cache_root>/<source>/<token>/<camera>.png`` (uint16 PNG),
  ``meta.json`` and the reader :class:`SuperpixelCache`;
* :mod:`.builder`: :func:`build_superpixel_cache`, run by ``tools/make_superpixels.py``.

The pipeline transform that loads the maps is
:class:`mmssl.datasets.transforms.LoadSuperpixels`; see docs/superpixels.md.
"""

from .builder import build_superpixel_cache, image_dataset_cfg
from .feature_kmeans import FeatureKMeansSuperpixels
from .ops import relabel_contiguous, resize_nearest
from .sam import SAM_AVAILABLE, SAMSuperpixels, paint_masks
from .sources import SLICSuperpixels, SuperpixelSource, build_superpixel_source, register_source
from .storage import SuperpixelCache, map_path, read_map, source_dir, write_map

__all__ = [
    'SAM_AVAILABLE',
    'FeatureKMeansSuperpixels',
    'SAMSuperpixels',
    'SLICSuperpixels',
    'SuperpixelCache',
    'SuperpixelSource',
    'build_superpixel_cache',
    'build_superpixel_source',
    'image_dataset_cfg',
    'map_path',
    'paint_masks',
    'read_map',
    'register_source',
    'relabel_contiguous',
    'resize_nearest',
    'source_dir',
    'write_map',
]
