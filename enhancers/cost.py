"""What a model run will cost on this machine, measured here rather than guessed.

The first estimate for a loaded model times one small probe image through it (after a smaller warm-up, which
pays for the one-off kernel set-up) and keeps the rate, in seconds per input megapixel, for that model, precision,
device and thread count. Convolutional networks cost time in proportion to the pixels they see, so the rate times
a photo's megapixels (and the number of passes, 8 for a self-ensemble) predicts the run within the tiles' overlap.
"""

from __future__ import annotations

import threading
import time

import torch

from .loader import LoadedModel
from .runner import run_model

PROBE_PX = 64  # probe edge in input px: ≈0.5 s for Real-ESRGAN x4plus on a 2-thread CPU, milliseconds for most
_RATES: dict[tuple, float] = {}
_LOCK = threading.Lock()


def seconds_per_megapixel(loaded: LoadedModel) -> float:
    """Seconds per input megapixel (10⁶ input px) for one pass of ``loaded`` on its device, measured once per
    (model, α, precision, device, CPU threads) on a random RGB ``(1, 3, 64, 64)`` probe and cached.

    Raises:
        As :func:`enhancers.runner.run_model` (a model that cannot run at all).
    """
    key = (loaded.spec.id, loaded.alpha, loaded.precision, str(loaded.device), torch.get_num_threads())
    with _LOCK:
        if key in _RATES:
            return _RATES[key]
        side = max(PROBE_PX, loaded.spec.min_size, loaded.spec.tiling.multiple)
        side += -side % loaded.spec.tiling.multiple
        generator = torch.Generator().manual_seed(0)
        run_model(loaded, torch.rand(1, 3, side // 2, side // 2, generator=generator))  # warm-up
        probe = torch.rand(1, 3, side, side, generator=generator)
        if loaded.device.type == "cuda":
            torch.cuda.synchronize(loaded.device)
        start = time.perf_counter()
        run_model(loaded, probe)
        if loaded.device.type == "cuda":
            torch.cuda.synchronize(loaded.device)
        rate = (time.perf_counter() - start) / (side * side / 1e6)
        _RATES[key] = rate
        return rate


def expected_seconds(loaded: LoadedModel, width: int, height: int, passes: int = 1) -> float:
    """Expected wall time in seconds to run ``loaded`` over a ``width`` × ``height`` px input, ``passes`` times
    (8 for a geometric self-ensemble). Raises as :func:`seconds_per_megapixel`."""
    return seconds_per_megapixel(loaded) * width * height / 1e6 * passes


def describe(loaded: LoadedModel, width: int, height: int, passes: int = 1) -> str:
    """One line for the app: the expected time of this run and the measured rate behind it."""
    seconds = expected_seconds(loaded, width, height, passes)
    rate = seconds_per_megapixel(loaded)
    where = f"{torch.get_num_threads()} CPU threads" if loaded.device.type == "cpu" else str(loaded.device)
    total = f"about {seconds:.0f} s" if seconds >= 2 else "under 2 s"
    return (f"**Expected time** {total} for this {width}×{height} photo on this machine "
            f"({rate:.1f} s per input megapixel for {loaded.spec.id}, {loaded.precision}, {where}"
            + (f", × {passes} passes" if passes > 1 else "") + ")")
