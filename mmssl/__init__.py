"""mmssl: self-supervised camera+LiDAR pre-training on MMEngine and MMDetection3D."""

from .utils.compat import apply_compat_patches
from .version import __version__

apply_compat_patches()

__all__ = ['__version__']
