"""NeuSCosAnnealHook: the ratio schedule reaches every NeuSDensity of the model."""

from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from mmssl.engine.hooks import NeuSCosAnnealHook
from mmssl.registry import MODELS


def _runner(model, iteration):
    return SimpleNamespace(
        model=model, iter=iteration, message_hub=MessageHub.get_instance('neus_anneal_test')
    )


def test_ratio_is_linear_to_anneal_end_and_set_on_every_density():
    model = torch.nn.ModuleDict(
        {
            'a': MODELS.build(
                dict(type='VolumeRenderer', near=1.0, far=2.0, step=0.5, density=dict(type='NeuSDensity'))
            ),
            'b': MODELS.build(dict(type='NeuSDensity')),
        }
    )
    hook = NeuSCosAnnealHook(anneal_end=100)
    for iteration, expected in ((0, 0.0), (25, 0.25), (100, 1.0), (300, 1.0)):
        hook.before_train_iter(_runner(model, iteration), 0)
        assert model['a'].density.cos_anneal_ratio == expected
        assert model['b'].cos_anneal_ratio == expected
    assert MessageHub.get_instance('neus_anneal_test').get_scalar('train/cos_anneal_ratio').current() == 1.0


def test_a_model_without_neus_density_is_an_error():
    with pytest.raises(RuntimeError, match='no NeuSDensity'):
        NeuSCosAnnealHook(10).before_train_iter(_runner(torch.nn.Linear(2, 2), 0), 0)
    with pytest.raises(ValueError):
        NeuSCosAnnealHook(0)
