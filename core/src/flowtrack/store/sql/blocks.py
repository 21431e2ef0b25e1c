"""Packing metric points into blocks: ``version byte | steps int64[n] | timestamps int64[n] |
values float64[n]``, little-endian. NaN and infinities are kept as they are."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable

from flowtrack.entities import Metric

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


def unpack(key: str, data: bytes, count: int) -> list[Metric]:
    if data[:1] != VERSION:
        raise ValueError(f"unknown metric block version {data[:1]!r}")
    body = memoryview(data)[1:]
    width = 8 * count
    steps, stamps, values = array("q"), array("q"), array("d")
    steps.frombytes(body[:width])
    stamps.frombytes(body[width : 2 * width])
    values.frombytes(body[2 * width : 3 * width])
    if _SWAP:
        for part in (steps, stamps, values):
            part.byteswap()
    return [Metric(key, v, t, s) for s, t, v in zip(steps, stamps, values, strict=True)]


def history(key: str, blocks: Iterable[tuple[bytes, int]]) -> list[Metric]:
    """All points of the blocks, by step then time; equal ones keep the order they came in."""
    points: list[Metric] = []
    for data, count in blocks:
        points.extend(unpack(key, data, count))
    points.sort(key=lambda m: (m.step, m.timestamp))
    return points
