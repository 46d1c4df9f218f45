"""Speed and memory of the one-click enhancement stages on this machine (prints a table; not a test).

At 1 MP and 3 MP of a real photo (scikit-image's astronaut, resized), each in a fresh process so peaks don't mix:
the bundled generator (``enhance/compact-x2``, ×2, α = 1), its same-size sibling (``enhance/compact-x1``, the
output size "same", α = 1), auto-tone (``tone/curves``), and MTCNN face detection
(``enhancers.faces.detect_faces``). Megapixels of input per second and peak RSS.

    python benchmarks/enhance_speed.py [--stages generator same_size tone faces] [--repeat 2]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh_process import in_fresh_process, peak_rss_mib  # noqa: E402
from sr_speed import _photo  # noqa: E402


def _generator(image, scale: int = 2) -> None:
    from enhancers import enhance

    enhance.enhance_image(image, "enhance/compact-x2", scale=scale, alpha=1.0, with_before=False)


def _tone(image) -> None:
    from enhancers import enhance

    enhance.auto_tone(image.rgb)


def _faces(image) -> None:
    from enhancers import faces

    faces.detect_faces(image.rgb)


STAGES = {"generator": _generator, "same_size": functools.partial(_generator, scale=1), "tone": _tone,
          "faces": _faces}


def _measure_here(stage: str, megapixels: float, repeat: int) -> dict:
    import torch

    image = _photo(megapixels)
    STAGES[stage](_photo(0.05))  # load the model (and warm up) outside the timing
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeat):
            t0 = time.perf_counter()
            STAGES[stage](image)
            best = min(best, time.perf_counter() - t0)
    return {"seconds": best, "peak_mib": peak_rss_mib(), "mp": image.width * image.height / 1e6}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stages", nargs="*", default=list(STAGES), choices=list(STAGES))
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"{'stage':<10} {'MP':>4} {'seconds':>8} {'MP/s':>7} {'peak RSS':>9}")
    for stage in args.stages:
        for mpx in (1.0, 3.0):
            r = in_fresh_process(_measure_here, stage, mpx, args.repeat)
            print(f"{stage:<10} {r['mp']:>4.1f} {r['seconds']:>8.3f} {r['mp'] / r['seconds']:>7.3f} "
                  f"{r['peak_mib']:>6.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
