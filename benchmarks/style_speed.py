"""Speed of style transfer on this machine (prints figures; not a test).

- Gatys: wall time of N optimiser steps at a working size (default 100 L-BFGS steps at
  256 px, the issue's budget is ≤ 60 s on CPU), per feature network, after a warm-up run
  that loads the network.
- Fast styles: seconds per image at about 1 MP (budget ≤ 3 s on CPU), best of ``--repeat``,
  for each bundled network, and peak RSS growth.
- ``--upsampling``: for each bundled network with resize-convolution upsampling, the shipped phase form
  (four 3×3 convolutions at the input resolution and a pixel shuffle) against the literal one (upsample,
  pad, convolve), each in a fresh process: seconds at 1 MP and peak RSS growth, and their ratios.
- The machine's fp32 GEMM rate and load average, to judge how contended the CPU was.

    python benchmarks/style_speed.py [--steps 100] [--size 256] [--threads 2] [--repeat 3] [--upsampling]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def _photo(megapixels: float):
    from PIL import Image

    from enhancers import imageio
    from enhancers.training.data import skimage_dir

    w = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    im = Image.open(skimage_dir() / "astronaut.png").convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
    return imageio.open_image(im).rgb


def _gemm_gflops(seconds: float = 2.0) -> float:
    import torch

    a, b = torch.randn(512, 512), torch.randn(512, 512)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        a @ b
        n += 1
    return n * 2 * 512**3 / (time.perf_counter() - t) / 1e9


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--features", nargs="*", default=["gatys/vgg16", "gatys/hybrid", "gatys/random-vgg19"])
    ap.add_argument("--skip-gatys", action="store_true")
    ap.add_argument("--upsampling", action="store_true", help="only the resize-convolution comparison")
    a = ap.parse_args()
    if a.upsampling:
        return _upsampling(a.threads, a.repeat)

    import torch

    from enhancers import imageio, style
    from enhancers.loader import load_model
    from enhancers.registry import list_specs

    torch.set_num_threads(a.threads)
    print(f"threads {a.threads} · fp32 GEMM {_gemm_gflops():.1f} GFLOP/s · load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    content = _photo(0.3)
    style_rgb = imageio.open_image(ROOT / "examples" / "styles" / "elephants.jpg").rgb
    if not a.skip_gatys:
        for features in a.features:
            load_model(features)
            cfg = style.GatysConfig(steps=a.steps, size=a.size, features=features, every=a.steps)
            started = time.perf_counter()
            *_, last = style.gatys(content, style_rgb, cfg)
            secs = time.perf_counter() - started
            print(f"Gatys {features}: {a.steps} L-BFGS steps at {a.size} px ({last.image.shape[-1]}×"
                  f"{last.image.shape[-2]}) in {secs:.1f} s ({secs / a.steps:.2f} s/step), total loss "
                  f"{last.history.total[0]:.2f} → {last.history.total[-1]:.2f}")
    photo = _photo(1.0)
    h, w = photo.shape[-2:]
    for spec in list_specs(style.TASK):
        if spec.source_kind != "bundled":
            continue
        style.fast_stylize(photo[..., :64, :64], spec.id)  # load and warm up
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            style.fast_stylize(photo, spec.id)
            times.append(time.perf_counter() - t)
        rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        print(f"Fast {spec.id}: {w}×{h} ({w * h / 1e6:.2f} MP) best {min(times):.2f} s, median "
              f"{sorted(times)[len(times) // 2]:.2f} s, peak RSS growth {rss:.0f} MiB")
    return 0


def _fast_once(model_id: str, literal: bool, threads: int, repeat: int) -> dict:
    """Best-of-``repeat`` seconds and peak RSS growth (MiB) of one fast style at 1 MP, in this (fresh) process."""
    import torch

    from benchmarks.fresh_process import peak_rss_mib
    from enhancers import style
    from enhancers.archs.johnson import ResizeConvLayer

    if literal:
        ResizeConvLayer.forward = ResizeConvLayer.reference
    torch.set_num_threads(threads)
    photo = _photo(1.0)
    style.fast_stylize(photo[..., :64, :64], model_id)  # load and warm up
    before = peak_rss_mib()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        style.fast_stylize(photo, model_id)
        times.append(time.perf_counter() - t)
    return {"seconds": min(times), "rss": peak_rss_mib() - before}


def _upsampling(threads: int, repeat: int) -> int:
    from benchmarks.fresh_process import in_fresh_process
    from enhancers.registry import list_specs

    print(f"threads {threads} · fp32 GEMM {_gemm_gflops():.1f} GFLOP/s · 1 MP, best of {repeat}, fresh process each")
    for spec in list_specs("style"):
        if dict(spec.arch_kwargs).get("upsample") != "resize" or spec.source_kind != "bundled":
            continue
        lit = in_fresh_process(_fast_once, spec.id, True, threads, repeat)
        pha = in_fresh_process(_fast_once, spec.id, False, threads, repeat)
        print(f"{spec.id}: literal {lit['seconds']:.2f} s, {lit['rss']:.0f} MiB · phases {pha['seconds']:.2f} s, "
              f"{pha['rss']:.0f} MiB · phases/literal: time {pha['seconds'] / lit['seconds']:.2f}×, "
              f"peak RSS growth {pha['rss'] / max(lit['rss'], 1e-9):.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
