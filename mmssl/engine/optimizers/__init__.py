from .autocast_optim_wrapper import AutocastOptimWrapper
from .trainable_constructor import TrainableOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'TrainableOptimWrapperConstructor']
