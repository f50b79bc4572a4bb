"""tools/benchmark_pipeline.py on the real keyframe (one sample of the full pipeline)."""

from pathlib import Path

from mmssl.testing.runs import import_tool

REPO = Path(__file__).resolve().parents[2]


def test_benchmark_pipeline_reports_every_transform(nuscenes_demo_dir, capsys):
    tool = import_tool('tools/benchmark_pipeline.py')
    report = tool.main(
        [
            str(REPO / 'configs/_base_/datasets/nus_pretrain_demo.py'),
            '--samples',
            '1',
            '--warmup',
            '0',
            '--cfg-options',
            f'train_dataloader.dataset.data_root={nuscenes_demo_dir}/',
        ]
    )
    names = [n.split(':')[1] for n in report['transforms']]
    assert names[0] == 'LoadSSLPointsFromFile' and names[-1] == 'PackSSLInputs'
    assert 'ImageAug3D' in names and 'LidarVoxelMask' in names
    assert all(ms > 0 for ms in report['transforms'].values())
    assert report['samples'] == 1 and report['samples_per_s'] > 0
    out = capsys.readouterr().out
    assert 'samples/s' in out and 'mean ms' in out
