"""mmssl: self-supervised camera+LiDAR pre-training on MMEngine and MMDetection3D."""

import importlib.util

from .version import __version__

# The compatibility patches of the pinned OpenMMLab stack (mmssl/utils/compat.py). Without MMEngine
# (e.g. a GPU machine with torch alone) there is nothing to patch, and the pure-PyTorch parts
# (mmssl.ops, mmssl.geometry) still import.
if importlib.util.find_spec('mmengine') is not None:
    from .utils.compat import apply_compat_patches

    apply_compat_patches()

__all__ = ['__version__']
