"""Helpers shared by the test suite: locations of real data and synthetic batches."""

from .paths import SHARED_DATA_ENV, require_shared_data, shared_data_root

__all__ = ['SHARED_DATA_ENV', 'shared_data_root', 'require_shared_data']
