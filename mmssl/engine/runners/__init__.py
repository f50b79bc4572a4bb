from .staged_runner import StagedRunner

__all__ = ['StagedRunner']
