"""Packing metric points into blocks: ``version byte | steps int64[n] | timestamps int64[n] |
values float64[n]``, little-endian. NaN and infinities are kept as they are."""

from __future__ import annotations

import operator
import sys
from array import array
from collections.abc import Iterable
from itertools import islice

from flowtrack.entities import MetricColumns

VERSION = b"\x01"
_SWAP = sys.byteorder != "little"


def pack(steps: list[int], timestamps: list[int], values: list[float]) -> bytes:
    parts: list[array[int] | array[float]] = [
        array("q", steps),
        array("q", timestamps),
        array("d", values),
    ]
    if _SWAP:
        for part in parts:
            part.byteswap()
    return VERSION + b"".join(p.tobytes() for p in parts)


def columns(blocks: Iterable[tuple[bytes, int]]) -> MetricColumns:
    """All points of the blocks as columns, by step then time; equal ones keep the order they
    came in. Columns rather than `Metric` objects: building and sorting 100,000 objects cost
    the server 20 times what the arrays do."""
    steps, stamps, values = array("q"), array("q"), array("d")
    for data, count in blocks:
        if data[:1] != VERSION:
            raise ValueError(f"unknown metric block version {data[:1]!r}")
        body = memoryview(data)[1:]
        width = 8 * count
        steps.frombytes(body[:width])
        stamps.frombytes(body[width : 2 * width])
        values.frombytes(body[2 * width : 3 * width])
    if _SWAP:
        for part in (steps, stamps, values):
            part.byteswap()
    out = MetricColumns(steps.tolist(), stamps.tolist(), values.tolist())
    keys = list(zip(out.steps, out.timestamps, strict=True))
    if all(map(operator.le, keys, islice(keys, 1, None))):
        return out  # logged in order, the usual case: no sort
    order = sorted(range(len(keys)), key=keys.__getitem__)  # stable
    return MetricColumns(
        [out.steps[i] for i in order],
        [out.timestamps[i] for i in order],
        [out.values[i] for i in order],
    )
