"""Run a loaded model on an image of any size: tiling policy, device, dtype, OOM back-off."""

from __future__ import annotations

import torch

from .device import compute_slot, free_memory_bytes
from .imageio import check_image_tensor
from .loader import LoadedModel
from .self_ensemble import self_ensemble as mean_over_symmetries
from .tiling import Progress, auto_tile, run_tiled_with_backoff


def activation_bytes_per_pixel(loaded: LoadedModel, scale: int) -> int:
    """Rough activation memory per input pixel: a few feature maps of the widest layer plus the output."""
    widest = max((m.out_channels for m in loaded.module.modules() if isinstance(m, torch.nn.Conv2d)), default=3)
    elt = torch.finfo(loaded.dtype).bits // 8
    return (8 * widest + 2 * 3 * scale * scale) * elt


@torch.inference_mode()
def run_model(loaded: LoadedModel, image: torch.Tensor, scale: int | None = None, tile: int | None = None,
              overlap: int | None = None, progress: Progress | None = None,
              out_dtype: torch.dtype = torch.float32, condition: dict | None = None,
              self_ensemble: bool = False) -> torch.Tensor:
    """Apply ``loaded`` to ``image``, tiled as its spec says.

    Args:
        image: RGB float32 ``(1, 3, H, W)`` in [0, 1], on CPU.
        scale: output scale for ``spec.any_scale`` models; others use ``spec.scale``.
        tile: tile edge in input pixels; None uses the spec's, or picks one from free memory.
        overlap: overlap in input pixels; None uses the spec's.
        progress: ``progress(done, total)`` after each tile.
        out_dtype: float32, or uint8 (×255) for results headed to a file.
        condition: extra keyword arguments for the module, the same for every tile
            (e.g. ``sigma`` for denoisers, ``qf`` for JPEG models).
        self_ensemble: average 8 passes over flips and rotations of each tile
            (:mod:`enhancers.self_ensemble`): 8× the time, same memory.

    Returns:
        RGB ``(1, 3, H·s, W·s)`` on CPU: float32 in [0, 1], or uint8 in [0, 255].

    Raises:
        InvalidInputError: ``image`` breaks the contract.
        MemoryError: out of memory at the smallest tile.

    The run holds one of the process's compute slots (:func:`enhancers.device.compute_slot`).
    """
    check_image_tensor(image)
    spec = loaded.spec
    s = scale if (spec.any_scale and scale) else spec.scale
    policy = spec.tiling

    def one_pass(t: torch.Tensor) -> torch.Tensor:
        out = loaded.module(t, scale=s) if spec.any_scale else loaded.module(t, **(condition or {}))
        if isinstance(out, tuple):  # (image, side output) models, e.g. JPEG's (restored, predicted QF)
            out = out[0]
        return out

    def fn(t: torch.Tensor) -> torch.Tensor:
        t = t.to(loaded.device, loaded.dtype)
        out = mean_over_symmetries(one_pass, t) if self_ensemble else one_pass(t)
        return out.float().clamp_(0, 1)

    with compute_slot():
        if not policy.enabled:
            result = fn(image).cpu()
            if progress:
                progress(1, 1)
            return result.mul_(255).round_().to(torch.uint8) if out_dtype == torch.uint8 else result
        if tile is None:
            tile = policy.tile or auto_tile(free_memory_bytes(loaded.device), activation_bytes_per_pixel(loaded, s),
                                            multiple=max(policy.multiple, 8))
        return run_tiled_with_backoff(fn, image, s, tile, policy.overlap if overlap is None else overlap,
                                      policy.multiple, progress, out_dtype, policy.align)


def is_gray(rgb: torch.Tensor) -> bool:
    """True when R, G and B are exactly equal: a grayscale photo in the RGB contract."""
    return bool(torch.equal(rgb[:, 0], rgb[:, 1]) and torch.equal(rgb[:, 1], rgb[:, 2]))


def run_model_keep_gray(loaded: LoadedModel, image: torch.Tensor, out_dtype: torch.dtype = torch.float32,
                        **kwargs) -> torch.Tensor:
    """:func:`run_model`, but a grayscale input (three equal channels) gives a grayscale output:
    the result's channel mean, repeated. Other arguments as for :func:`run_model`."""
    if not is_gray(image):
        return run_model(loaded, image, out_dtype=out_dtype, **kwargs)
    out = run_model(loaded, image, **kwargs).mean(dim=1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
    return out.mul_(255).round_().to(torch.uint8) if out_dtype == torch.uint8 else out
