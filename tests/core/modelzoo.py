"""Models for the model tests, in an importable module (as a user's models would be)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn


class TinyNet(nn.Module):
    """A small classifier: Linear, ReLU, Linear."""

    def __init__(self, n_in: int = 4, hidden: int = 8, n_out: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Doubler:
    """A plain object with a predict method."""

    def __init__(self, factor: float = 2.0) -> None:
        self.factor = factor

    def predict(self, data: Any) -> Any:
        return data * self.factor


def add_one(data: Any) -> Any:
    return data + 1


class Booby:
    """Unpickling this creates ``marker``: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))
