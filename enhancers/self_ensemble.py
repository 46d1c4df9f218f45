"""Geometric self-ensemble (Lim et al. 2017, EDSR+, https://arxiv.org/abs/1707.02921).

Run a model on the 8 flips and 90° rotations of its input, undo each transform on
the output, and average. A network is not exactly equivariant to these transforms,
so its errors differ between passes and partly cancel; for PSNR-trained
super-resolution this gains about 0.1 dB at 8× the cost. It smooths invented
texture, so it is not for GAN models.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

DIHEDRAL = range(8)


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th of the 8 symmetries of the square on the last two axes of ``x``.

    Rotates by ``k % 4`` quarter turns (counter-clockwise), then mirrors left-right if
    ``k >= 4``. Any shape ``(..., H, W)``; returns ``(..., H, W)`` or ``(..., W, H)``.
    """
    x = torch.rot90(x, k % 4, (-2, -1))
    return x.flip(-1) if k >= 4 else x


def undo_dihedral(y: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of :func:`dihedral`: ``undo_dihedral(dihedral(x, k), k) == x``."""
    y = y.flip(-1) if k >= 4 else y
    return torch.rot90(y, -(k % 4), (-2, -1))


def self_ensemble(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Mean of ``undo_dihedral(fn(dihedral(x, k)), k)`` over the 8 symmetries.

    Args:
        fn: maps ``(N, C, h, w)`` to ``(N, C', h·s, w·s)`` for any h, w (a conv net).
        x: ``(N, C, H, W)``, any float dtype.

    Returns:
        float32 ``(N, C', H·s, W·s)``.
    """
    acc = None
    for k in DIHEDRAL:
        y = undo_dihedral(fn(dihedral(x, k)), k).float()
        acc = y if acc is None else acc.add_(y)
    return acc.div_(len(DIHEDRAL))
