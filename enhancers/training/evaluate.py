"""Held-out evaluation of SR models against bicubic: Y-PSNR / Y-SSIM with the scale shaved."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import imageio
from ..metrics import psnr_y, ssim_y
from . import data


@torch.no_grad()
def evaluate_sr(model: torch.nn.Module, scale: int, paths, crop: int | None = 512) -> dict:
    """Mean and per-photo Y-PSNR/SSIM of ``model`` and of bicubic on held-out photos.

    ``model`` maps RGB float32 ``(1, 3, h, w)`` in [0, 1] to ``(1, 3, h·scale, w·scale)``; a
    ``torch.nn.Module`` gets its input on the device of its parameters.
    """
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    device = params[0].device if params else torch.device("cpu")
    rows = []
    for p in paths:
        hr = data.prepare_hr(Path(p), crop=crop, multiple=4)
        lr = data.degrade_bicubic(hr, scale)
        bic = imageio.resize(lr, (hr.shape[-1], hr.shape[-2]), "bicubic")
        out = model(lr.to(device)).clamp(0, 1).cpu()
        rows.append({"photo": Path(p).name,
                     "bicubic_psnr": psnr_y(bic, hr, scale), "bicubic_ssim": ssim_y(bic, hr, scale),
                     "psnr": psnr_y(out, hr, scale), "ssim": ssim_y(out, hr, scale)})
    keys = ("bicubic_psnr", "bicubic_ssim", "psnr", "ssim")
    mean = {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in keys}
    mean["gain_db"] = round(mean["psnr"] - mean["bicubic_psnr"], 4)
    return {"mean": mean, "photos": rows}
