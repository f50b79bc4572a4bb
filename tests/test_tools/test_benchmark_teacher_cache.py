"""tools/benchmark_teacher_cache.py on a tiny world: figures are measured, live and cached agree."""

from mmssl.testing.runs import import_tool


def test_benchmark_teacher_cache_runs_and_reports(tmp_path, capsys):
    bench = import_tool('tools/benchmark_teacher_cache.py')
    out = bench.main(
        [
            '--input-size',
            '28',
            '42',
            '--img-size',
            '45',
            '80',
            '--frames',
            '2',
            '--steps',
            '1',
            '--work-dir',
            str(tmp_path),
        ]
    )
    assert out['frames'] == 2 and out['points'] > 0 and 0 < out['valid_frac'] < 1
    assert out['masks_equal'] and out['max_abs_diff'] <= 2e-3 * out['max_abs_target']
    # 6 cameras x 384 channels x (2 x 3) patches in fp16, plus the entry's small header
    assert 6 * 384 * 6 * 2 < out['cache_bytes_per_frame'] < 6 * 384 * 6 * 2 + 8000
    assert out['step_live_s'] > 0 and out['step_cache_s'] > 0 and out['build_frames_per_s'] > 0
    assert abs(out['ratio'] - out['step_live_s'] / out['step_cache_s']) < 1e-9
    printed = capsys.readouterr().out
    assert f'ratio live/cache {out["ratio"]:.1f}x' in printed and 'cache build rate' in printed
