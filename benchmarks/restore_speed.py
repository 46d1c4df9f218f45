"""Speed and memory of the bundled denoiser and JPEG model on this machine (prints a table; not a test).

For each model at 1 MP and 3 MP of a real photo (scikit-image's astronaut, resized):
megapixels per second and peak RSS (each run in a fresh process, so peaks don't
mix), and throughput as a fraction of the CPU's measured fp32 GEMM rate (MACs
per pixel, counted with hooks on every convolution, × 2 FLOPs). Non-local means,
the classical baseline, is timed alongside.

    python benchmarks/restore_speed.py [--models denoise/unet ...] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh_process import in_fresh_process, peak_rss_mib  # noqa: E402
from sr_speed import _photo, gemm_gflops  # noqa: E402

CONDITION = {"denoise": {"sigma": 25.0}, "dejpeg": {"qf": 30.0}}


def _run(model_id: str, image) -> None:
    from enhancers import dejpeg, denoise
    from enhancers.registry import get_spec

    if get_spec(model_id).task == "denoise":
        denoise.denoise_image(image, model_id, 25.0)
    else:
        dejpeg.dejpeg_image(image, model_id)


def _measure_here(model_id: str, megapixels: float, repeat: int) -> dict:
    import torch

    from enhancers.loader import load_model

    image = _photo(megapixels)
    load_model(model_id)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeat):
            t0 = time.perf_counter()
            _run(model_id, image)
            best = min(best, time.perf_counter() - t0)
    return {"seconds": best, "peak_mib": peak_rss_mib(), "mp": image.width * image.height / 1e6}


def measure(model_id: str, megapixels: float, repeat: int) -> dict:
    return in_fresh_process(_measure_here, model_id, megapixels, repeat)


def macs_per_pixel(model_id: str) -> float:
    """Multiply-accumulates per image pixel over every Conv2d and ConvTranspose2d (0 for NLM)."""
    import torch

    from enhancers.loader import load_model
    from enhancers.registry import get_spec

    module = load_model(model_id).module
    total = 0

    def conv(m, inp, out):
        nonlocal total
        total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def deconv(m, inp, out):
        nonlocal total
        total += inp[0].numel() * (m.out_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(conv) for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    handles += [m.register_forward_hook(deconv) for m in module.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    with torch.inference_mode():
        module(torch.rand(1, 3, 64, 64), **CONDITION[get_spec(model_id).task])
    for h in handles:
        h.remove()
    return total / (64 * 64)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=["denoise/unet", "dejpeg/fbcnn-lite", "denoise/nlm"])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    peak = gemm_gflops()
    print(f"fp32 GEMM ceiling (2048², torch.mm): {peak:.1f} GFLOP/s")
    print(f"{'model':<18} {'MP':>4} {'MP/s':>7} {'peak RSS':>9} {'MAC/px':>8} {'of ceiling':>10}")
    for model_id in args.models:
        macs = macs_per_pixel(model_id)
        for mpx in (1.0, 3.0):
            r = measure(model_id, mpx, args.repeat)
            mps = r["mp"] / r["seconds"]
            frac = f"{macs * 2 * mps * 1e6 / (peak * 1e9):>9.1%}" if macs else f"{'n/a':>10}"
            print(f"{model_id:<18} {r['mp']:>4.1f} {mps:>7.3f} {r['peak_mib']:>6.0f} MiB {macs / 1e3:>7.1f}k {frac}",
                  flush=True)


if __name__ == "__main__":
    main()
