"""Speed and memory of the one-click enhancement stages on this machine (prints a table; not a test).

At 1 MP and 3 MP of a real photo (scikit-image's astronaut, resized), each in a fresh process so peaks don't mix:
the default generator (``enhance/distilled-x2``, ×2, α = 1), its same-size sibling (``enhance/distilled-x1``, the
output size "same", α = 1), the previous bundled generator (``enhance/compact-x2``, ×2, α = 1), the teacher the
default is distilled from (Real-ESRGAN x4plus, ``enhance/realesrgan-x4plus``, ×4 then Lanczos, at the same two
output sizes and in its default CPU precision), auto-tone (the default ``tone/curves-cautious`` and the full
correction ``tone/curves``), and MTCNN face detection (``enhancers.faces.detect_faces``). Megapixels of input per
second, peak RSS, and the default generators' speed as a multiple of the teacher's at the same size and output
scale.

    python benchmarks/enhance_speed.py [--stages generator same_size previous teacher teacher_same_size tone
        tone_full faces] [--megapixels 1 3] [--repeat 2]
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


def _generator(image, scale: int = 2, model: str | None = None) -> None:
    from enhancers import enhance

    model = model or enhance.DEFAULT_MODEL
    alpha = 1.0 if enhance.interpolation_control(model) is not None else None
    enhance.enhance_image(image, model, scale=scale, alpha=alpha, with_before=False)


def _tone(image, model: str | None = None) -> None:
    from enhancers import enhance

    enhance.auto_tone(image.rgb, model_id=model or enhance.TONE_MODEL)


def _faces(image) -> None:
    from enhancers import faces

    faces.detect_faces(image.rgb)


TEACHER = "enhance/realesrgan-x4plus"
STAGES = {"generator": _generator, "same_size": functools.partial(_generator, scale=1),
          "previous": functools.partial(_generator, model="enhance/compact-x2"),
          "teacher": functools.partial(_generator, model=TEACHER),
          "teacher_same_size": functools.partial(_generator, scale=1, model=TEACHER), "tone": _tone,
          "tone_full": functools.partial(_tone, model="tone/curves"), "faces": _faces}
# (student stage, teacher stage): the speed-up printed when both ran at a size.
SPEEDUPS = (("generator", "teacher"), ("same_size", "teacher_same_size"))


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
    ap.add_argument("--megapixels", type=float, nargs="*", default=[1.0, 3.0], help="input sizes in MP")
    args = ap.parse_args()
    print(f"{'stage':<18} {'MP':>4} {'seconds':>8} {'MP/s':>7} {'peak RSS':>9}")
    seconds: dict[tuple[str, float], float] = {}
    for stage in args.stages:
        for mpx in args.megapixels:
            r = in_fresh_process(_measure_here, stage, mpx, args.repeat)
            seconds[stage, mpx] = r["seconds"]
            print(f"{stage:<18} {r['mp']:>4.2f} {r['seconds']:>8.3f} {r['mp'] / r['seconds']:>7.3f} "
                  f"{r['peak_mib']:>6.0f} MiB", flush=True)
    for student, teacher in SPEEDUPS:
        for mpx in args.megapixels:
            if (student, mpx) in seconds and (teacher, mpx) in seconds:
                print(f"{student} is {seconds[teacher, mpx] / seconds[student, mpx]:.1f}× the teacher's speed "
                      f"at {mpx:g} MP")


if __name__ == "__main__":
    main()
