"""The documented compatibility fixes of mmssl/utils/compat.py."""

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmssl.utils import compat
from mmssl.utils.atomic_io import atomic_write_bytes


def _random_voxels(seed=0, shape=(6, 7, 8), n=60, channels=3):
    g = torch.Generator().manual_seed(seed)
    flat = torch.randperm(int(np.prod(shape)), generator=g)[:n]
    z, rem = flat // (shape[1] * shape[2]), flat % (shape[1] * shape[2])
    y, x = rem // shape[2], rem % shape[2]
    indices = torch.stack([torch.zeros_like(z), z, y, x], dim=1).int()
    feats = torch.randn(n, channels, generator=g)
    return indices, feats


def _dense_conv3d_reference(indices, feats, shape, weight):
    """``conv3d`` of the voxels scattered into a dense grid; spconv's weight
    (out, kD, kH, kW, in) is permuted to (out, in, kD, kH, kW)."""
    idx = indices.long()
    dense_in = torch.zeros(1, feats.shape[1], *shape)
    dense_in[0, :, idx[:, 1], idx[:, 2], idx[:, 3]] = feats.t()
    return F.conv3d(dense_in, weight.permute(0, 4, 1, 2, 3), padding=1)


@pytest.mark.parametrize('conv', ['subm', 'regular'])
def test_spconv_cpu_backward_matches_dense_conv3d(conv):
    spconv = pytest.importorskip('spconv.pytorch')
    assert compat.patch_spconv_cpu_backward()
    shape = (6, 7, 8)
    indices, feats = _random_voxels(shape=shape)
    torch.manual_seed(1)
    cls = spconv.SubMConv3d if conv == 'subm' else spconv.SparseConv3d
    layer = cls(3, 4, kernel_size=3, padding=1, bias=False, indice_key='k')
    feats_sp = feats.clone().requires_grad_(True)
    out = layer(spconv.SparseConvTensor(feats_sp, indices, list(shape), batch_size=1))
    g = torch.Generator().manual_seed(2)
    dense_out_sp = out.dense()  # (1, 4, D, H, W)
    weight_r = torch.randn(dense_out_sp.shape, generator=g)
    (dense_out_sp * weight_r).sum().backward()

    # Dense reference on the same voxels.
    idx = indices.long()
    feats_d = feats.clone().requires_grad_(True)
    w = layer.weight.detach().clone().requires_grad_(True)
    ref = _dense_conv3d_reference(indices, feats_d, shape, w)
    if conv == 'subm':  # submanifold: outputs only at the input's active sites
        mask = torch.zeros(1, 1, *shape)
        mask[0, 0, idx[:, 1], idx[:, 2], idx[:, 3]] = 1
        ref = ref * mask
    torch.testing.assert_close(dense_out_sp.detach(), ref.detach(), rtol=1e-4, atol=1e-5)
    (ref * weight_r).sum().backward()
    torch.testing.assert_close(feats_sp.grad, feats_d.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(layer.weight.grad, w.grad, rtol=1e-4, atol=1e-4)


def test_spconv_cpu_regular_conv_is_exact_on_every_call():
    """Item 4: unpatched, about 1 call in 75 to 1 in 400 gives wrong sums on 2 threads."""
    spconv = pytest.importorskip('spconv.pytorch')
    assert compat.patch_spconv_cpu_threads()
    torch.set_num_threads(max(2, torch.get_num_threads()))
    threads = torch.get_num_threads()
    shape = (6, 7, 8)
    indices, feats = _random_voxels(shape=shape)
    torch.manual_seed(1)
    layer = spconv.SparseConv3d(3, 4, kernel_size=3, padding=1, bias=False)
    ref = _dense_conv3d_reference(indices, feats, shape, layer.weight.detach())
    wrong = 0
    for _ in range(1000):
        out = layer(spconv.SparseConvTensor(feats, indices, list(shape), batch_size=1)).dense()
        wrong += int(not torch.allclose(out.detach(), ref, rtol=1e-4, atol=1e-5))
    assert wrong == 0
    assert torch.get_num_threads() == threads  # the caller's thread count is restored


def test_runner_checkpoint_loads_with_weights_only():
    from mmengine.logging import HistoryBuffer

    ckpt = dict(
        meta=dict(seed=np.int64(3), epoch=1, dtype=np.dtype('float32'), arr=np.arange(3)),
        message_hub=dict(log_scalars={'train/loss': HistoryBuffer([1.0, 2.0], [1, 1])}),
        state_dict={'w': torch.ones(2)},
    )
    path = '/tmp/mmssl_compat_ckpt.pth'
    torch.save(ckpt, path)
    try:
        loaded = torch.load(path, map_location='cpu', weights_only=True)
        assert loaded['meta']['seed'] == 3 and loaded['meta']['dtype'] == np.float32
        assert list(loaded['message_hub']['log_scalars']['train/loss'].data[0]) == [1.0, 2.0]
    finally:
        os.unlink(path)


def test_unknown_types_stay_rejected(tmp_path):
    from fractions import Fraction

    path = tmp_path / 'x.pth'
    torch.save({'x': Fraction(1, 3)}, path)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path, weights_only=True)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / 'iter_4.pth'
    atomic_write_bytes(b'complete checkpoint', target)

    def broken_fsync(fd):
        raise OSError('disk died')

    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='disk died'):
        atomic_write_bytes(b'half', target)
    assert target.read_bytes() == b'complete checkpoint'
    assert [p.name for p in tmp_path.iterdir()] == ['iter_4.pth']


def test_mmengine_local_backend_is_atomic(tmp_path, monkeypatch):
    from mmengine.fileio import get_file_backend

    backend = get_file_backend(str(tmp_path))
    assert type(backend).__name__ == 'AtomicLocalBackend'
    calls = []
    monkeypatch.setattr(
        'mmssl.utils.atomic_io.os.replace', lambda a, b: calls.append((a, b)) or os.rename(a, b)
    )
    backend.put(b'abc', tmp_path / 'f.pth')
    assert (tmp_path / 'f.pth').read_bytes() == b'abc' and len(calls) == 1


@pytest.mark.parametrize('strategy', ['cos', 'linear'])
def test_onecycle_scheduler_state_loads_with_weights_only_and_resumes_identically(tmp_path, strategy):
    from mmengine.optim.scheduler import OneCycleParamScheduler

    def make():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = OneCycleParamScheduler(opt, 'lr', eta_max=1.0, total_steps=20, anneal_strategy=strategy)
        return opt, sched

    opt, sched = make()
    for _ in range(7):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert 'anneal_func' not in state and state['anneal_strategy'] == strategy
    torch.save({'scheduler': state}, tmp_path / 'ckpt.pth')
    loaded = torch.load(tmp_path / 'ckpt.pth', weights_only=True)['scheduler']  # raised before the patch
    opt2, sched2 = make()
    sched2.load_state_dict(loaded)
    assert sched2.anneal_func is sched.anneal_func
    for _ in range(5):
        opt.step(), sched.step(), opt2.step(), sched2.step()
        assert opt2.param_groups[0]['lr'] == pytest.approx(opt.param_groups[0]['lr'])
