"""Speed and memory of the bundled SR models on this machine (prints a table; not a test).

For each bundled model: megapixels of input per second and peak RSS at 1 MP and
3 MP (each run in a fresh process, so peaks don't mix), tiled against untiled
as a ratio in the same run, and throughput as a fraction of the CPU's measured
fp32 GEMM rate (MACs per input pixel × 2 FLOPs), all for one pass. For models whose
default is the 8-pass self-ensemble, also that mode at 1 MP, as a ratio to one pass.
Also the peak-RSS growth when the input grows 4× (3 MP → 12 MP) for ×2.

    python benchmarks/sr_speed.py [--models sr/compact-x2 ...] [--repeat 2]
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
    """A real photo (scikit-image's astronaut, Lanczos-resized) of about ``megapixels`` MP, 4:3."""
    from PIL import Image

    from enhancers import imageio
    from enhancers.training.data import skimage_dir

    w = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    im = Image.open(skimage_dir() / "astronaut.png").convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
    return imageio.open_image(im)


def _measure_here(model_id: str, megapixels: float, tile: int | None, repeat: int, ensemble: bool) -> dict:
    import torch

    from enhancers import sr
    from enhancers.loader import load_model

    image = _photo(megapixels)
    load_model(model_id)
    if tile == -1:
        tile = max(image.width, image.height)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeat):
            t0 = time.perf_counter()
            sr.upscale_image(image, model_id, tile=tile, with_before=False, self_ensemble=ensemble)
            best = min(best, time.perf_counter() - t0)
    return {"seconds": best, "peak_mib": peak_rss_mib(), "mp": image.width * image.height / 1e6,
            "threads": torch.get_num_threads()}


def measure(model_id: str, megapixels: float, tile: int | None = None, repeat: int = 2,
            ensemble: bool = False) -> dict:
    return in_fresh_process(_measure_here, model_id, megapixels, tile, repeat, ensemble)


def gemm_gflops() -> float:
    import torch

    from enhancers.device import configure_cpu_threads

    configure_cpu_threads()
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * 2048**3 / best / 1e9


def macs_per_pixel(model_id: str) -> float:
    """Multiply-accumulates per input pixel, counted with forward hooks on every conv."""
    import torch

    from enhancers.loader import load_model

    module = load_model(model_id).module
    total = 0

    def hook(m, inp, out):
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1]
        total += out.numel() * (m.in_channels // m.groups) * k

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.inference_mode():
        module(torch.rand(1, 3, 64, 64))
    for h in handles:
        h.remove()
    return total / (64 * 64)


def main() -> None:
    from enhancers.registry import get_spec, list_specs

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=[s.id for s in list_specs("sr") if s.source_kind == "bundled"])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    peak_flops = gemm_gflops()
    print(f"fp32 GEMM ceiling (2048², torch.mm): {peak_flops:.1f} GFLOP/s")
    print(f"{'model':<16} {'MP':>4} {'MP/s':>7} {'peak RSS':>9} {'untiled MP/s':>12} {'tiled/untiled':>13} "
          f"{'MAC/px':>8} {'of ceiling':>10}")
    for model_id in args.models:
        macs = macs_per_pixel(model_id)
        one_pass_1mp = None
        for mpx in (1.0, 3.0):
            tiled = measure(model_id, mpx, None, args.repeat)
            one_pass_1mp = one_pass_1mp or tiled
            untiled = measure(model_id, mpx, -1, args.repeat)
            mps = tiled["mp"] / tiled["seconds"]
            ratio = untiled["seconds"] / tiled["seconds"]
            frac = macs * 2 * mps * 1e6 / (peak_flops * 1e9)
            print(f"{model_id:<16} {tiled['mp']:>4.1f} {mps:>7.3f} {tiled['peak_mib']:>6.0f} MiB "
                  f"{untiled['mp'] / untiled['seconds']:>12.3f} {ratio:>12.2f}x {macs / 1e3:>7.1f}k {frac:>9.1%}",
                  flush=True)
        if get_spec(model_id).self_ensemble:
            ens = measure(model_id, 1.0, None, 1, ensemble=True)
            print(f"{model_id:<16} {ens['mp']:>4.1f} {ens['mp'] / ens['seconds']:>7.3f} {ens['peak_mib']:>6.0f} MiB "
                  f"  self-ensemble of 8 (its default): {ens['seconds'] / one_pass_1mp['seconds']:.2f}× the time "
                  f"of one pass", flush=True)
    if "sr/compact-x2" in args.models:
        small = measure("sr/compact-x2", 3.0, None, 1)
        large = measure("sr/compact-x2", 12.0, None, 1)
        print(f"peak RSS ×2 compact, tiled: 3 MP {small['peak_mib']:.0f} MiB → 12 MP {large['peak_mib']:.0f} MiB "
              f"(+{(large['peak_mib'] - small['peak_mib']) / 1024:.2f} GiB for 4× the pixels)")


if __name__ == "__main__":
    main()
