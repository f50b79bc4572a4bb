"""Kill a CPU training run with SIGKILL after a checkpoint, resume it, check it continues."""

import torch

from mmssl.testing.runs import kill_after_checkpoint, latest_checkpoint, run_tool

TOY = 'tests/data/configs/toy_regression.py'
SLOW = [
    'train_cfg.max_iters=40',
    'default_hooks.checkpoint.interval=2',
    'train_dataloader.dataset.delay_s=0.05',
]


def test_sigkill_then_resume_continues_from_checkpoint(tmp_path):
    args = ['tools/train.py', TOY, '--work-dir', str(tmp_path), '--cfg-options', *SLOW]
    kill_after_checkpoint(args, tmp_path, ('iter_6.pth', 'iter_8.pth'))
    ckpt = latest_checkpoint(tmp_path)
    saved = torch.load(ckpt, map_location='cpu')  # must load whole: written atomically
    for pth in tmp_path.glob('iter_*.pth'):
        torch.load(pth, map_location='cpu')  # every named checkpoint is complete
    killed_at = saved['meta']['iter']
    assert 0 < killed_at < 40
    (tmp_path / 'state_before_train_rank0.pt').unlink()

    run_tool(['tools/train.py', TOY, '--work-dir', str(tmp_path), '--resume', '--cfg-options', *SLOW])
    resumed = torch.load(tmp_path / 'state_before_train_rank0.pt')
    assert resumed['iter'] == killed_at, 'the iteration counter must continue, not restart'
    for key, value in saved['state_dict'].items():
        torch.testing.assert_close(resumed['params'][key], value, rtol=0, atol=0)
    saved_opt, resumed_opt = saved['optimizer']['state'], resumed['optimizer']['state']
    assert set(saved_opt) == set(resumed_opt)
    for idx in saved_opt:
        assert int(resumed_opt[idx]['step']) == int(saved_opt[idx]['step']) == killed_at
        torch.testing.assert_close(resumed_opt[idx]['exp_avg'], saved_opt[idx]['exp_avg'])
    final = torch.load(tmp_path / 'state_after_train_rank0.pt')
    assert final['iter'] == 40
    assert latest_checkpoint(tmp_path).name == 'iter_40.pth'


def _loss_rows(work_dir):
    import json

    rows = []
    for f in sorted(work_dir.glob('*/vis_data/scalars.json')):
        rows += [json.loads(line) for line in f.read_text().splitlines()]
    return [(r['iter'], r['loss']) for r in rows if 'loss' in r]


def _losses(work_dir):
    return dict(_loss_rows(work_dir))


def test_sigkill_resume_is_exact_with_random_model(tmp_path):
    """A model drawing from torch's global generator (noise on its inputs, like NS-MAE's masks):
    killed with SIGKILL at a random moment and resumed, it ends bit-identical to an uninterrupted
    run (weights, optimizer state, every logged loss), thanks to the RNG state in checkpoints."""
    opts = [*SLOW, 'model.noise_std=0.5', 'train_dataloader.dataset.delay_s=0.02']
    run_tool(['tools/train.py', TOY, '--work-dir', str(tmp_path / 'full'), '--cfg-options', *opts])
    cut = tmp_path / 'cut'
    # die between checkpoints, mid-way through later iterations
    args = ['tools/train.py', TOY, '--work-dir', str(cut), '--cfg-options', *opts]
    kill_after_checkpoint(args, cut, ('iter_10.pth', 'iter_12.pth'), poll=0.02, linger=0.07)
    killed_at = torch.load(latest_checkpoint(cut), map_location='cpu')['meta']['iter']
    assert 0 < killed_at < 40
    run_tool(['tools/train.py', TOY, '--work-dir', str(cut), '--resume', '--cfg-options', *opts])
    full, resumed = (torch.load(d / 'iter_40.pth', map_location='cpu') for d in (tmp_path / 'full', cut))
    for key, value in full['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][key], value, rtol=0, atol=0)
    for idx, state in full['optimizer']['state'].items():
        for name, value in state.items():
            torch.testing.assert_close(resumed['optimizer']['state'][idx][name], value, rtol=0, atol=0)
    full_losses = _losses(tmp_path / 'full')
    assert sorted(full_losses) == list(range(1, 41))
    # The killed run logged some iterations after its last checkpoint and the resumed run redid
    # them: every logged value of either run equals the uninterrupted run's.
    cut_rows = _loss_rows(cut)
    assert len(cut_rows) >= 40 and all(loss == full_losses[i] for i, loss in cut_rows)
