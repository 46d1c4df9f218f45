"""Interpolation baselines (bicubic, Lanczos) wrapped as modules, so they run like models."""

from __future__ import annotations

import torch

from .. import imageio
from . import BuiltModel


class Resize(torch.nn.Module):
    """Upscale by an integer factor with Pillow's filter (no weights).

    ``forward(x, scale)``: RGB float32 ``(1, 3, h, w)`` in [0, 1] → ``(1, 3, h·scale, w·scale)``.
    """

    def __init__(self, method: str, scale: int = 2) -> None:
        super().__init__()
        self.method = method
        self.scale = scale

    def forward(self, x: torch.Tensor, scale: int | None = None) -> torch.Tensor:
        s = scale or self.scale
        return imageio.resize(x, (x.shape[-1] * s, x.shape[-2] * s), self.method)


def build(state_dict: None = None, method: str = "bicubic") -> BuiltModel:
    return BuiltModel(Resize(method))
