"""Uniform call signatures for restoration models whose networks spandrel builds.

Every denoiser is called as ``module(x, sigma=None)`` and every JPEG model as
``module(x, qf=None) -> (restored, predicted QF)``, whatever the network's own
convention, so the task modules never branch on model names.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import UnsafeWeightsError
from . import BuiltModel


def _spandrel_model(state_dict: dict[str, torch.Tensor] | None, expected: str):
    import spandrel

    if state_dict is None:
        raise UnsafeWeightsError(f"{expected} needs a state dict")
    try:
        desc = spandrel.ModelLoader().load_from_state_dict(state_dict)
    except spandrel.UnsupportedModelError as e:
        raise UnsafeWeightsError(f"spandrel does not recognise these weights ({e})") from e
    if desc.architecture.name != expected:
        raise UnsafeWeightsError(f"expected {expected} weights, spandrel found {desc.architecture.name}")
    return desc


class NoiseMapDenoiser(nn.Module):
    """DRUNet (Zhang et al. 2021): the noise level enters as a 4th input channel holding σ/255.

    ``forward(x, sigma)``: RGB float32 ``(N, 3, H, W)`` in [0, 1], σ on the 0–255 scale
    (float). H and W must be multiples of 8 (the tiling policy pads tiles).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, sigma: float = 15.0) -> torch.Tensor:
        level = torch.full_like(x[:, :1], float(sigma) / 255)
        return self.net(torch.cat([x, level], dim=1))


class BlindDenoiser(nn.Module):
    """A blind network (SCUNet): any ``sigma`` given is ignored, the network judges the noise itself."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
        return self.net(x)


class FBCNNAdapter(nn.Module):
    """Official FBCNN (Jiang et al. 2021). Its QF branch works in ``1 − QF/100``; this adapter speaks QF.

    ``forward(x, qf=None)``: RGB float32 ``(N, 3, H, W)`` in [0, 1]; returns
    ``(restored, predicted QF (N,) in [0, 100])``.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, qf: float | torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        q_in = None
        if qf is not None:
            q = torch.as_tensor(qf, dtype=x.dtype, device=x.device).reshape(-1, 1).expand(x.shape[0], 1)
            q_in = 1 - q / 100
        out, q_pred = self.net(x, q_in)
        return out, (1 - q_pred.reshape(-1)) * 100


def build_drunet(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    desc = _spandrel_model(state_dict, "DRUNet")
    # spandrel marks DRUNet's half precision as unverified; bfloat16 is declared supported.
    return BuiltModel(NoiseMapDenoiser(desc.model).eval(), supports_half=False,
                      supports_bfloat16=desc.supports_bfloat16)


def build_scunet(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    desc = _spandrel_model(state_dict, "SCUNet")
    return BuiltModel(BlindDenoiser(desc.model).eval(), supports_half=desc.supports_half,
                      supports_bfloat16=desc.supports_bfloat16)


def build_fbcnn(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    desc = _spandrel_model(state_dict, "FBCNN")
    return BuiltModel(FBCNNAdapter(desc.model).eval(), supports_half=desc.supports_half,
                      supports_bfloat16=desc.supports_bfloat16)
