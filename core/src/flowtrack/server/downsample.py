"""Fewer points of a long metric history, for charts: ``?max_points=N``.

The points are sorted by step (then timestamp) and cut into equal-count buckets; each bucket
keeps its lowest and its highest value (in step order), and the very first and last points
are always kept. So a chart drawn from at most N points still shows every spike and dip and
the full step range, which averaging or taking every k-th point would hide (this is the
min/max half of the M4 algorithm; LTTB would pick one point per bucket by area and can drop an
extreme). NaN values are skipped when picking the extremes; a bucket of only NaN keeps one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from flowtrack.entities import Metric

MIN_POINTS = 3


def downsample(points: Sequence[Metric], max_points: int) -> list[Metric]:
    ordered = sorted(points, key=lambda m: (m.step, m.timestamp))
    n = len(ordered)
    if n <= max_points:
        return ordered
    buckets = max(1, (max_points - 2) // 2)
    keep = {0, n - 1}
    inner = n - 2
    for b in range(buckets):
        start = 1 + b * inner // buckets
        end = 1 + (b + 1) * inner // buckets
        lowest = highest = -1
        for i in range(start, end):
            value = ordered[i].value
            if math.isnan(value):
                continue
            if lowest < 0 or value < ordered[lowest].value:
                lowest = i
            if highest < 0 or value > ordered[highest].value:
                highest = i
        if lowest < 0:
            if start < end:
                keep.add(start)
            continue
        keep.add(lowest)
        keep.add(highest)
    return [ordered[i] for i in sorted(keep)]
