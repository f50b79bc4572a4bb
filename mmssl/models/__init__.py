"""Models: algorithms, maskers, ray samplers, renderers, target generators, necks, heads, losses."""

from . import (  # noqa: F401
    algorithms,
    backbones,
    data_preprocessors,
    finetune,
    heads,
    losses,
    maskers,
    necks,
    ray_samplers,
    renderers,
    target_generators,
    utils,
)
