"""The CUDA path of the bundled SR models (prints a table; not a test; needs an NVIDIA GPU).

For each bundled SR model, one pass and self-ensemble: the dtype the loader picks
on CUDA, the largest difference from the CPU float32 result on a held-out photo
(8-bit levels), both results' Y-PSNR gain over bicubic, and throughput and peak
GPU memory at 3 MP input.

    python benchmarks/sr_cuda.py [--models sr/compact-x4 ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import torch

    from enhancers import imageio, loader, sr
    from enhancers.metrics import psnr_y
    from enhancers.registry import get_spec, list_specs
    from enhancers.training import data

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=[s.id for s in list_specs("sr") if s.source_kind == "bundled"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark measures the GPU path", file=sys.stderr)
        return 1
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    big = imageio.resize(data.prepare_hr(data.skimage_dir() / "astronaut.png", crop=None), (2000, 1500), "lanczos")
    print(f"{'model':<16} {'ensemble':>8} {'dtype':>9} {'max |GPU-CPU|':>13} {'gain CPU':>8} {'gain GPU':>8} "
          f"{'3 MP MP/s':>9} {'peak GPU mem':>12}")
    for model_id in args.models:
        scale = get_spec(model_id).scale
        hr = data.prepare_hr(data.skimage_dir() / "coffee.png", crop=256, multiple=4)
        lr = data.degrade_bicubic(hr, scale)
        bic = psnr_y(imageio.resize(lr, (hr.shape[-1], hr.shape[-2]), "bicubic"), hr, scale)
        for ensemble in (False, True):
            results = {}
            for device in ("cpu", "cuda"):
                loader.model_cache().clear()
                with mock.patch.dict(os.environ, {"ENHANCERS_DEVICE": device}):  # read at each load
                    results[device] = sr.upscale(lr, model_id, self_ensemble=ensemble)
                    dtype = loader.load_model(model_id).dtype
            diff = (results["cuda"] - results["cpu"]).abs().max().item() * 255
            loader.model_cache().clear()
            with mock.patch.dict(os.environ, {"ENHANCERS_DEVICE": "cuda"}):
                def run():
                    return sr.upscale(big, model_id, self_ensemble=ensemble, out_dtype=torch.uint8)

                run()  # warm-up with the timed call's tile shapes (cuDNN plans)
                torch.cuda.reset_peak_memory_stats()
                best = float("inf")
                for _ in range(args.repeat):
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    run()
                    torch.cuda.synchronize()
                    best = min(best, time.perf_counter() - t0)
                peak = torch.cuda.max_memory_allocated() / 2**20
            print(f"{model_id:<16} {'8 passes' if ensemble else '1 pass':>8} {str(dtype).split('.')[1]:>9} "
                  f"{diff:>13.2f} {psnr_y(results['cpu'], hr, scale) - bic:>+8.2f} "
                  f"{psnr_y(results['cuda'], hr, scale) - bic:>+8.2f} {3.0 / best:>9.2f} {peak:>9.0f} MiB",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
