"""Models: algorithms, maskers, ray samplers, renderers, target generators, necks, heads, losses."""

from . import (  # noqa: F401
    algorithms,
    backbones,
    data_preprocessors,
    heads,
    losses,
    maskers,
    necks,
    ray_samplers,
    renderers,
    target_generators,
    utils,
)
