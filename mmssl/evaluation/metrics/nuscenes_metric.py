"""MMDet3D's nuScenes detection metric, also defined for a result without any box."""

from __future__ import annotations

import os.path as osp

import mmengine
from mmdet3d.evaluation.metrics import NuScenesMetric as _MMDet3DNuScenesMetric
from mmengine.logging import print_log

from mmssl.registry import METRICS


def empty_result_summary(eval_config) -> dict:
    """The devkit's ``metrics_summary`` of a submission with no box at all.

    nuscenes-devkit cannot load such a submission (``filter_eval_boxes`` looks for a box to
    learn the box type and raises "Invalid box type: None"), although its metrics are defined:
    ``NuScenesEval.evaluate`` gives every class ``DetectionMetricData.no_predictions()``, i.e.
    AP 0 at every distance and TP errors 1 (NaN where the devkit leaves a class-error pair
    undefined), so mAP = NDS = 0. This runs that same ``evaluate`` on empty box sets.

    Args:
        eval_config: the devkit's ``DetectionConfig`` (``NuScenesMetric.eval_detection_configs``).

    Returns:
        The dict the devkit writes to ``metrics_summary.json``.
    """
    from nuscenes.eval.common.data_classes import EvalBoxes
    from nuscenes.eval.detection.evaluate import NuScenesEval

    evaluator = object.__new__(NuScenesEval)  # no result file to load: set what evaluate() reads
    evaluator.cfg = eval_config
    evaluator.gt_boxes = EvalBoxes()
    evaluator.pred_boxes = EvalBoxes()
    evaluator.verbose = False
    metrics, _ = evaluator.evaluate()
    return metrics.serialize()


@METRICS.register_module()
class NuScenesMetric(_MMDet3DNuScenesMetric):
    """``mmdet3d.NuScenesMetric`` that scores a result without any box instead of crashing.

    An untrained detector, or one whose score threshold removes everything, produces no box
    for any sample; the devkit then fails inside its loader. This metric evaluates that case
    with :func:`empty_result_summary` (mAP = NDS = 0, the same keys as a normal evaluation)
    and logs a warning; any result with at least one box goes through the devkit unchanged.
    """

    def _evaluate_single(
        self, result_path: str, classes: list | None = None, result_name: str = 'pred_instances_3d'
    ) -> dict:
        submission = mmengine.load(result_path)
        if any(len(boxes) for boxes in submission['results'].values()):
            return super()._evaluate_single(result_path, classes, result_name)
        print_log(
            f'{result_path}: no predicted box in any of {len(submission["results"])} samples; '
            'scoring it as the devkit defines an empty submission (mAP = NDS = 0)',
            logger='current',
            level=30,
        )
        summary = empty_result_summary(self.eval_detection_configs)
        mmengine.dump(summary, osp.join(osp.dirname(result_path), 'metrics_summary.json'))
        return self._details(summary, classes, result_name)

    def _details(self, summary: dict, classes: list, result_name: str) -> dict:
        """Flatten a devkit summary into this metric's keys (as MMDet3D's metric names them)."""
        prefix = f'{result_name}_NuScenes'
        details = {}
        for name in classes:
            for dist, ap in summary['label_aps'][name].items():
                details[f'{prefix}/{name}_AP_dist_{dist}'] = float(f'{ap:.4f}')
            for err, value in summary['label_tp_errors'][name].items():
                details[f'{prefix}/{name}_{err}'] = float(f'{value:.4f}')
        for err, value in summary['tp_errors'].items():
            details[f'{prefix}/{self.ErrNameMapping[err]}'] = float(f'{value:.4f}')
        details[f'{prefix}/NDS'] = summary['nd_score']
        details[f'{prefix}/mAP'] = summary['mean_ap']
        return details
