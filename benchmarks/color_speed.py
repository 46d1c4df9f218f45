"""Speed and memory of colorization on this machine (prints a table; not a test).

For each model: seconds per photo at 1, 3 and 12 MP (the model always sees 256 px on
the short side, so the cost beyond the model is the full-resolution L*a*b* → sRGB
conversion), split into the model's prediction and the full-resolution combination,
and the peak RSS of a fresh process per size; one model pass and the app's default
six-pass test-time ensemble, side by side in the same run.

    python benchmarks/color_speed.py [--models color/unet ...] [--sizes 1 3 12] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh_process import in_fresh_process, peak_rss_mib  # noqa: E402


def _photo(megapixels: float):
    """The SR benchmark's real photo (astronaut, about ``megapixels`` MP, 4:3), made gray with NTSC."""
    from sr_speed import _photo as colour_photo

    from enhancers.lab import gray_to_rgb, ntsc_gray

    return gray_to_rgb(ntsc_gray(colour_photo(megapixels).rgb))


def _measure_here(model_id: str, megapixels: float, repeat: int, ensemble: bool) -> dict:
    import torch

    from enhancers import colorize
    from enhancers.lab import ntsc_gray
    from enhancers.loader import load_model

    rgb = _photo(megapixels)
    loaded = load_model(model_id)
    best_total = best_model = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        gray = ntsc_gray(rgb)
        ab = colorize.predict_ab(loaded.module, gray, colorize.WORK_SIZE, loaded.device, loaded.dtype, ensemble)
        t1 = time.perf_counter()
        colorize.combine(gray, ab, 1.0, out_dtype=torch.uint8)
        t2 = time.perf_counter()
        best_total, best_model = min(best_total, t2 - t0), min(best_model, t1 - t0)
    return {"seconds": best_total, "model_s": best_model, "peak_mib": peak_rss_mib(),
            "mp": rgb.shape[-1] * rgb.shape[-2] / 1e6, "threads": torch.get_num_threads()}


def measure(model_id: str, megapixels: float, repeat: int = 2, ensemble: bool = False) -> dict:
    return in_fresh_process(_measure_here, model_id, megapixels, repeat, ensemble)


def main() -> None:
    from enhancers.loader import is_ready
    from enhancers.registry import list_specs

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=[s.id for s in list_specs("color") if is_ready(s)],
                    help="default: the colorization models usable without a download")
    ap.add_argument("--sizes", nargs="*", type=float, default=[1.0, 3.0, 12.0], help="megapixels")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"{'model':<20} {'passes':>6} {'MP':>5} {'total s':>8} {'model s':>8} {'full-res s':>10} {'peak RSS':>9} "
          f"{'threads':>7}")
    for model_id in args.models:
        for mpx in args.sizes:
            one = None
            for ensemble in (False, True):
                r = measure(model_id, mpx, args.repeat, ensemble)
                ratio = f"  ({r['seconds'] / one:.2f}× one pass)" if one else ""
                one = one or r["seconds"]
                print(f"{model_id:<20} {6 if ensemble else 1:>6} {r['mp']:>5.1f} {r['seconds']:>8.2f} "
                      f"{r['model_s']:>8.2f} {r['seconds'] - r['model_s']:>10.2f} {r['peak_mib']:>6.0f} MiB "
                      f"{r['threads']:>7}{ratio}", flush=True)


if __name__ == "__main__":
    main()
