"""Benchmarks: label efficiency of pre-training methods, and the cost of pre-training."""

from .presets import PRESETS, BenchmarkPreset

__all__ = ['PRESETS', 'BenchmarkPreset']
