"""Batch throughput (issue 14): one archive through ``dejpeg,denoise`` with the local engine, then on a local
Ray with 1 and 2 workers, each run in a fresh process; one torch thread per worker (local: one thread), so the
rows compare engines and worker counts, not thread counts.

The archive is 40 JPEG photos at QF 40: crops of the project's photo corpus (``make photos``; scikit-image's
photos when it is absent), 640×480 unless ``--size`` says otherwise. For each run it prints:

- photos per minute end to end (process start, Ray start-up and model loading included) and in steady state
  (from the first photo finished to the last);
- the time in the chain per photo (``seconds`` in the manifest, summed over the photos / workers);
- for Ray, its start-up time, and its overhead per photo: (wall time − start-up − per-worker chain time) / photos,
  which covers actor creation, model loading in the actors, scheduling and moving the records back.

    python benchmarks/batch_scale.py                 # 40 photos, 640×480
    python benchmarks/batch_scale.py --photos 12 --size 320x240
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh_process import in_fresh_process  # noqa: E402

STEPS = "dejpeg,denoise"


def make_archive(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """``count`` JPEG (QF 40) crops of real photos into ``folder``."""
    import numpy as np
    from PIL import Image

    sources = sorted((ROOT / "data" / "photos").glob("*.jpg"))
    if sources:
        images = [Image.open(p).convert("RGB") for p in sources]
    else:
        from skimage import data

        images = [Image.fromarray(getattr(data, n)()).convert("RGB")
                  for n in ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")]
    rng = np.random.default_rng(0)
    w, h = size
    paths = []
    for i in range(count):
        im = images[i % len(images)]
        if im.width < w or im.height < h:
            im = im.resize((max(w, im.width), max(h, im.height)), Image.Resampling.LANCZOS)
        x, y = int(rng.integers(0, im.width - w + 1)), int(rng.integers(0, im.height - h + 1))
        path = folder / f"{i // 10:02d}" / f"photo-{i:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        im.crop((x, y, x + w, y + h)).save(path, quality=40)
        paths.append(path)
    return paths


def _run(archive: str, out: str, engine: str, workers: int | None) -> dict:
    started = time.perf_counter()
    from enhancers import batch
    from enhancers.precision import tune_allocator

    tune_allocator()
    ray_start = 0.0
    if engine == "ray":
        t0 = time.perf_counter()
        batch.start_ray(num_cpus=workers)
        ray_start = time.perf_counter() - t0
    finished: list[float] = []
    summary = batch.run_batch([archive], out, STEPS, engine=engine, workers=workers, threads=1,
                              on_record=lambda r: finished.append(time.perf_counter()))
    wall = time.perf_counter() - started
    records = [json.loads(line) for line in summary.manifest.read_text().splitlines()]
    if engine == "ray":
        import ray

        ray.shutdown()
    return {"wall": wall, "ray_start": ray_start, "ok": summary.ok, "failed": summary.error,
            "chain_seconds": sum(sum(s["seconds"] for s in r["steps"]) for r in records if r["status"] == "ok"),
            "photo_seconds": sum(r["seconds"] for r in records if r["status"] == "ok"),
            "workers": len({r["worker"] for r in records}),
            "steady": (finished[-1] - finished[0]) / max(1, len(finished) - 1) if len(finished) > 1 else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--size", default="640x480", help="crop size WxH in px")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive"
        make_archive(archive, args.photos, (w, h))
        n = args.photos
        print(f"{n} photos, {w}×{h} JPEG QF 40, steps {STEPS}; each run in a fresh process")
        runs = {}
        for engine, workers in (("local", None), ("ray", 1), ("ray", 2)):
            r = in_fresh_process(_run, str(archive), str(Path(tmp) / f"out-{engine}-{workers}"), engine, workers)
            assert r["ok"] == n and r["failed"] == 0, r
            runs[(engine, workers)] = r
            label = "local" if engine == "local" else f"ray, {workers} worker{'s' if workers > 1 else ''}"
            steady = f"{60 / r['steady']:.1f}" if r["steady"] else "–"
            ray = f", Ray start-up {r['ray_start']:.1f} s, {r['workers']} actor(s)" if engine == "ray" else ""
            print(f"  {label:<15} {n / r['wall'] * 60:6.1f} photos/min end to end, {steady} photos/min steady "
                  f"state, {r['chain_seconds'] / n:.3f} s/photo in the chain{ray}", flush=True)
        local, one, two = runs[("local", None)], runs[("ray", 1)], runs[("ray", 2)]
        print(f"  Ray overhead per photo (1 worker vs local, start-up excluded): "
              f"{(one['wall'] - one['ray_start'] - local['wall']) / n:+.3f} s; with start-up "
              f"{(one['wall'] - local['wall']) / n:+.3f} s")
        print(f"  2 workers vs 1: {one['wall'] / two['wall']:.2f}× end to end, "
              f"{(one['steady'] or 0) / (two['steady'] or 1):.2f}× steady state")


if __name__ == "__main__":
    main()
