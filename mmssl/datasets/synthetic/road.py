"""Cross-section of the synthetic road and its nuScenes-style map layers.

Every scene's ground is the same straight road in its road frame (x along the road, y to the
left, see :mod:`.scene`), symmetric about the centre line ``y = 0`` and unbounded in x. The
ground texture (:mod:`.appearance`) and the map layers are both functions of ``|y|`` defined
by the constants below, so the map layers label exactly the surfaces the cameras and the LiDAR
intensity see:

=============  ============================================  =================================
band           ``|y|`` (metres)                              texture / map layer
=============  ============================================  =================================
road           ``[0, ROAD_HALF_WIDTH)`` = [0, 7)             asphalt, ``drivable_area``
parking strip  ``[ROAD_HALF_WIDTH, PARKING_OUTER)`` = [7, 9.5)  darker asphalt, ``carpark_area``
pavement       ``[PARKING_OUTER, WALKWAY_OUTER)`` = [9.5, 13.5)  slabs, ``walkway``
grass          ``>= WALKWAY_OUTER``                          grass (no layer)
=============  ============================================  =================================

Painted lines on the road (``divider``): the double yellow centre line (two lines at
``|y| = CENTRE_LINE_OFFSET``), the dashed lane separators at ``|y| = LANE_WIDTH`` (dashes of
``DASH_LENGTH`` every ``DASH_PERIOD`` metres of x; the divider layer is the continuous line, as a
nuScenes lane divider is) and the solid road edges at ``|y| = ROAD_HALF_WIDTH - EDGE_LINE_INSET``.

:func:`ground_surface` names the band of ground points (:data:`GROUND_SURFACES`), e.g. for their
LiDAR semantic labels; :func:`to_road_frame` maps global points into the road frame.
"""

from __future__ import annotations

import numpy as np

from .scene import LANE_WIDTH

__all__ = [
    'ROAD_HALF_WIDTH',
    'PARKING_OUTER',
    'WALKWAY_OUTER',
    'LANE_LINE_HALF_WIDTH',
    'DASH_PERIOD',
    'DASH_LENGTH',
    'CENTRE_LINE_OFFSET',
    'CENTRE_LINE_HALF_WIDTH',
    'EDGE_LINE_INSET',
    'EDGE_LINE_HALF_WIDTH',
    'MAP_LAYER_NAMES',
    'GROUND_SURFACES',
    'map_layer_bands',
    'ground_surface',
    'to_road_frame',
]

#: Half width of the road (two lanes each way).
ROAD_HALF_WIDTH = 2 * LANE_WIDTH
#: Outer edge of the parking strip.
PARKING_OUTER = 9.5
#: Outer edge of the pavement (sidewalk); grass beyond.
WALKWAY_OUTER = 13.5
#: Half width of the painted dashed lane separators at ``|y| = LANE_WIDTH``.
LANE_LINE_HALF_WIDTH = 0.08
#: Period and dash length (metres along x) of the lane separators.
DASH_PERIOD = 9.0
DASH_LENGTH = 3.0
#: The double centre line: two yellow lines centred at ``|y| = CENTRE_LINE_OFFSET``.
CENTRE_LINE_OFFSET = 0.12
CENTRE_LINE_HALF_WIDTH = 0.06
#: The solid road edge lines: centred ``EDGE_LINE_INSET`` inside the road's edge.
EDGE_LINE_INSET = 0.2
EDGE_LINE_HALF_WIDTH = 0.1

#: Map layers of the synthetic world (nuScenes map-expansion layer names).
MAP_LAYER_NAMES = ('drivable_area', 'carpark_area', 'walkway', 'divider')
#: The ground's bands from the centre line outwards (the codes :func:`ground_surface` returns).
GROUND_SURFACES = ('road', 'parking', 'pavement', 'grass')


def ground_surface(y_road: np.ndarray) -> np.ndarray:
    """Band of ground points from their road-frame y.

    Args:
        y_road: (P,) road-frame y of the points (metres to the left of the centre line).

    Returns:
        (P,) int64 index into :data:`GROUND_SURFACES`: road ``|y| < ROAD_HALF_WIDTH``, parking strip
        up to ``PARKING_OUTER``, pavement up to ``WALKWAY_OUTER``, grass beyond (the bands of the
        ground texture and of the map layers).
    """
    bounds = np.array([ROAD_HALF_WIDTH, PARKING_OUTER, WALKWAY_OUTER])
    return np.searchsorted(bounds, np.abs(np.asarray(y_road, dtype=np.float64)), side='right')


def to_road_frame(points: np.ndarray, road_origin: np.ndarray, road_yaw: float) -> np.ndarray:
    """Road-frame xy of global points: ``R(-road_yaw) (p_xy - road_origin)``.

    Args:
        points: (P, 2+) global points (only x and y are used).
        road_origin: (2,) global position of the road frame's origin.
        road_yaw: global heading of the road frame.

    Returns:
        (P, 2) road-frame xy.
    """
    c, s = np.cos(road_yaw), np.sin(road_yaw)
    rel = points[:, :2] - road_origin
    return np.stack([c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1]], axis=1)


def map_layer_bands() -> dict[str, dict]:
    """The map layers as bands of ``|y|`` in the road frame (the JSON form of ``road_frames.json``).

    Returns:
        Layer name -> ``{'kind': 'band', 'abs_y': [lo, hi]}`` (cells with ``lo <= |y| < hi``)
        or ``{'kind': 'lines', 'abs_y': [c, ...], 'paint_half_width': [w, ...]}`` (lines along
        x at ``|y| = c``, painted ``2 w`` wide; rasterised at a chosen thickness).
    """
    return {
        'drivable_area': {'kind': 'band', 'abs_y': [0.0, ROAD_HALF_WIDTH]},
        'carpark_area': {'kind': 'band', 'abs_y': [ROAD_HALF_WIDTH, PARKING_OUTER]},
        'walkway': {'kind': 'band', 'abs_y': [PARKING_OUTER, WALKWAY_OUTER]},
        'divider': {
            'kind': 'lines',
            'abs_y': [CENTRE_LINE_OFFSET, LANE_WIDTH, ROAD_HALF_WIDTH - EDGE_LINE_INSET],
            'paint_half_width': [CENTRE_LINE_HALF_WIDTH, LANE_LINE_HALF_WIDTH, EDGE_LINE_HALF_WIDTH],
        },
    }
