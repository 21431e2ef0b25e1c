"""Fewer points of a long metric history, for charts: ``?max_points=N``.

The points are sorted by step (then timestamp) and cut into equal-count buckets; each bucket
keeps its lowest and its highest value (in step order), and the very first and last points
are always kept. So a chart drawn from at most N points still shows every spike and dip and
the full step range, which averaging or taking every k-th point would hide (this is the
min/max half of the M4 algorithm; LTTB would pick one point per bucket by area and can drop an
extreme). NaN values are skipped when picking the extremes; a bucket of only NaN keeps one.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from flowtrack.entities import Metric, MetricColumns

MIN_POINTS = 3


def downsample(points: Sequence[Metric], max_points: int) -> list[Metric]:
    ordered = sorted(points, key=lambda m: (m.step, m.timestamp))
    return [ordered[i] for i in keep_indices([m.value for m in ordered], max_points)]


def downsample_columns(points: MetricColumns, max_points: int) -> MetricColumns:
    """`downsample` of a history already sorted by step then timestamp."""
    keep = keep_indices(points.values, max_points)
    if len(keep) == len(points.values):
        return points
    return MetricColumns(
        [points.steps[i] for i in keep],
        [points.timestamps[i] for i in keep],
        [points.values[i] for i in keep],
    )


def keep_indices(values: Sequence[float], max_points: int) -> list[int]:
    """The positions to keep of values in step order: first, last, and each bucket's extremes."""
    n = len(values)
    if n <= max_points:
        return list(range(n))
    buckets = max(1, (max_points - 2) // 2)
    keep = {0, n - 1}
    inner = n - 2
    for b in range(buckets):
        start = 1 + b * inner // buckets
        end = 1 + (b + 1) * inner // buckets
        lowest = highest = -1
        for i in range(start, end):
            value = values[i]
            if math.isnan(value):
                continue
            if lowest < 0 or value < values[lowest]:
                lowest = i
            if highest < 0 or value > values[highest]:
                highest = i
        if lowest < 0:
            if start < end:
                keep.add(start)
            continue
        keep.add(lowest)
        keep.add(highest)
    return sorted(keep)


def step_window(points: MetricColumns, min_step: int | None, max_step: int | None) -> MetricColumns:
    """The points with ``min_step <= step <= max_step`` of a history sorted by step."""
    if min_step is None and max_step is None:
        return points
    start = 0 if min_step is None else bisect.bisect_left(points.steps, min_step)
    stop = len(points.steps) if max_step is None else bisect.bisect_right(points.steps, max_step)
    return points.page(start, max(start, stop))
