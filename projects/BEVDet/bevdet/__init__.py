"""BEVDet project: camera-only BEV detector built from mmssl's shared camera encoders."""

from .bevdet import BEVDet

__all__ = ['BEVDet']
