from .autocast_optim_wrapper import AutocastOptimWrapper
from .layer_decay_constructor import LayerDecayOptimWrapperConstructor
from .trainable_constructor import TrainableOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'LayerDecayOptimWrapperConstructor', 'TrainableOptimWrapperConstructor']
