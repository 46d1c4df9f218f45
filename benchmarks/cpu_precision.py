"""CPU precision benchmark (issue 16): fp32 vs bf16, the allocator thresholds, and Real-ESRGAN's own code.

Prints, all from one run, each measurement in a fresh process (so peak RSS values don't mix):

1. every bundled image model at 1 MP and 3 MP (a Lanczos-resized astronaut) in fp32 and under ``auto`` (bf16
   where the spec allows it, as the CLI and app run it): input MP/s,
   peak RSS, the max difference between the two outputs (levels of 8 bits, on a 0.25 MP crop), and the
   held-out quality of both (PSNR on four held-out photos: Y channel for SR and enhancement, RGB for
   denoising at σ = 25 and JPEG at QF 20; none for style and colorization, which have no reference);
2. ``sr/compact-x4``'s ×4 self-ensemble default (8 passes) in fp32 vs bf16;
3. the glibc allocator thresholds (:func:`enhancers.precision.tune_allocator`) on vs off, fp32 and auto, for
   every bundled SR model: the speed-up over today's fp32 path (fp32, glibc defaults) and the new one;
4. the peer: Real-ESRGAN's own inference class ``RealESRGANer`` (realesrgan 0.3.0, basicsr 1.4.2) with the
   same ``sr/compact-x4`` weights in its own ``SRVGGNetCompact``, tiled (tile 256, pad 10) and untiled, and
   our default (auto precision, allocator on) as ratios of its MP/s and peak RSS;
5. with ``--compile``: torch.compile (inductor, freezing) of ``sr/compact-x4`` in bf16, compile time and MP/s.

The peer is installed into ``.bench-peer/`` only (``make bench-peer``; its metadata pins old torch and numpy,
so without dependencies); basicsr imports ``torchvision.transforms.functional_tensor``, which torchvision
removed, so a one-function stand-in is put in ``sys.modules`` before it is imported.

    python benchmarks/cpu_precision.py               # full run: all models, 1 and 3 MP (minutes to an hour)
    python benchmarks/cpu_precision.py --quick       # sr/compact-x4 only, 0.25 MP: checks that it works
    python benchmarks/cpu_precision.py --threads 1 --compile
    python benchmarks/cpu_precision.py --sizes 1 --no-peer --cards   # and update the model cards
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_DIR = ROOT / ".bench-peer"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh_process import in_fresh_process, peak_rss_mib  # noqa: E402

from enhancers.training.cards import CPU_PRECISION_HEADING as CARD_HEADING  # noqa: E402

IMAGE_TASKS = ("sr", "enhance", "denoise", "dejpeg", "color", "style")
HELD_OUT = ("astronaut", "coffee", "chelsea", "rocket")
PEER_MODEL = "sr/compact-x4"


def _start(allocator: bool, threads: int | None) -> None:
    """First thing in every measuring process: the allocator thresholds, then torch's thread count."""
    from enhancers.precision import tune_allocator

    if allocator:
        tune_allocator()
    import torch

    from enhancers.device import configure_cpu_threads

    configure_cpu_threads()
    if threads:
        torch.set_num_threads(threads)


def _photo(megapixels: float):
    """A real photo (scikit-image's astronaut, Lanczos-resized) of about ``megapixels`` MP, 4:3, as RGB float32."""
    from skimage import data

    from enhancers import imageio

    w = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    return imageio.resize(imageio.numpy_to_tensor(data.astronaut()), (w, h), "lanczos")


def _run(model_id: str, rgb, ensemble: bool = False):
    """One model on ``rgb`` through its task's tensor API, the way the CLI runs it; uint8 output."""
    import torch

    from enhancers import colorize, dejpeg, denoise, enhance, sr, style
    from enhancers.registry import get_spec

    spec = get_spec(model_id)
    task = spec.task
    u8 = torch.uint8
    if task == "sr":
        return sr.upscale(rgb, model_id, out_dtype=u8, self_ensemble=ensemble)
    if task == "enhance":  # at the model's own scale factor: no Lanczos after it
        return enhance.generate(rgb, model_id, scale=spec.scale, out_dtype=u8)
    if task == "denoise":
        return denoise.denoise(rgb, model_id, sigma=25, out_dtype=u8)[0]
    if task == "dejpeg":
        return dejpeg.dejpeg(rgb, model_id, out_dtype=u8)[0]
    if task == "color":
        return colorize.colorize(rgb, model_id, out_dtype=u8)
    return style.fast_stylize(rgb, model_id).mul(255).round().to(u8)


def _ours(model_id: str, megapixels: float, precision: str, allocator: bool, threads: int | None,
          repeat: int, ensemble: bool = False) -> dict:
    _start(allocator, threads)
    import torch

    from enhancers.loader import load_model
    from enhancers.precision import use_precision

    rgb = _photo(megapixels)
    with use_precision(precision), torch.inference_mode():
        ran = load_model(model_id).precision
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            _run(model_id, rgb, ensemble)
            best = min(best, time.perf_counter() - t0)
    return {"seconds": best, "peak_mib": peak_rss_mib(), "mp": rgb.shape[-1] * rgb.shape[-2] / 1e6,
            "precision": ran, "threads": torch.get_num_threads()}


def _compiled(model_id: str, megapixels: float, threads: int | None, repeat: int, compile: bool = True) -> dict:
    """``torch.compile`` (inductor, freezing) of the bf16 module, untiled so one shape compiles once;
    ``compile=False``: the same untiled bf16 call in eager mode, for comparison."""
    _start(True, threads)
    import dataclasses

    import torch
    import torch._inductor.config as inductor_config

    from enhancers.loader import load_model
    from enhancers.runner import run_model

    inductor_config.freezing = True
    rgb = _photo(megapixels)
    loaded = load_model(model_id, precision="bf16")
    fast = dataclasses.replace(loaded, module=torch.compile(loaded.module, dynamic=False)) if compile else loaded
    size = max(rgb.shape[-2:])
    with torch.inference_mode():
        t0 = time.perf_counter()
        run_model(fast, rgb, tile=size, out_dtype=torch.uint8)
        first = time.perf_counter() - t0
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            run_model(fast, rgb, tile=size, out_dtype=torch.uint8)
            best = min(best, time.perf_counter() - t0)
    return {"seconds": best, "compile_s": first - best, "peak_mib": peak_rss_mib(),
            "mp": rgb.shape[-1] * rgb.shape[-2] / 1e6}


def _crop(rgb, megapixels: float):
    h, w = rgb.shape[-2:]
    side = int((megapixels * 1e6) ** 0.5)
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return rgb[..., top:top + side, left:left + side].contiguous()


def _max_diff(model_id: str, threads: int | None) -> dict:
    """Largest bf16 − fp32 difference on a 0.25 MP crop of the benchmark photo, in levels of 8 bits."""
    _start(True, threads)
    import torch

    from enhancers.precision import use_precision

    rgb = _crop(_photo(1.0), 0.25)
    outs = {}
    with torch.inference_mode():
        for p in ("fp32", "bf16"):
            with use_precision(p):
                outs[p] = _run(model_id, rgb).float()
    return {"max_diff": float((outs["bf16"] - outs["fp32"]).abs().max())}


def _held_out_quality(model_id: str, precision: str, threads: int | None) -> dict:
    """Mean PSNR (dB) over the held-out photos (256 px centre crops); None for tasks without a reference."""
    _start(True, threads)
    import torch
    from skimage import data

    from enhancers import dejpeg, denoise, enhance, imageio, metrics, sr
    from enhancers.degrade import add_gaussian_noise, fixed_mix, jpeg
    from enhancers.precision import use_precision
    from enhancers.registry import get_spec

    spec = get_spec(model_id)
    if spec.task not in ("sr", "enhance", "denoise", "dejpeg"):
        return {"psnr": None}
    scores = []
    with use_precision(precision), torch.inference_mode():
        for name in HELD_OUT:
            clean = _crop(imageio.numpy_to_tensor(getattr(data, name)()), 256 * 256 / 1e6)
            h, w = clean.shape[-2:]
            if spec.task in ("sr", "enhance"):
                s = spec.scale
                clean = clean[..., : h // s * s, : w // s * s]
                low = (imageio.resize(clean, (clean.shape[-1] // s, clean.shape[-2] // s), "bicubic") if s > 1
                       else fixed_mix(clean, 1, seed=0))  # a same-size model restores the fixed mix instead
                out = (sr.upscale(low, model_id, self_ensemble=False) if spec.task == "sr"
                       else enhance.generate(low, model_id, scale=s))
                scores.append(metrics.psnr_y(out, clean, shave=s))
            elif spec.task == "denoise":
                out = denoise.denoise(add_gaussian_noise(clean, 25, seed=0), model_id, sigma=25)[0]
                scores.append(metrics.psnr_rgb(out, clean))
            else:
                out = dejpeg.dejpeg(jpeg(clean, 20), model_id)[0]
                scores.append(metrics.psnr_rgb(out, clean))
    return {"psnr": sum(scores) / len(scores)}


def _import_peer():
    """``RealESRGANer`` and Real-ESRGAN's ``SRVGGNetCompact`` from ``.bench-peer/``."""
    if not (PEER_DIR / "realesrgan").is_dir():
        raise RuntimeError(f"Real-ESRGAN is not installed in {PEER_DIR}: run `make bench-peer`")
    sys.path.insert(0, str(PEER_DIR))
    # basicsr 1.4.2 imports rgb_to_grayscale from this module, which torchvision 0.17 removed.
    import torchvision.transforms.functional as tv_functional

    stand_in = types.ModuleType("torchvision.transforms.functional_tensor")
    stand_in.rgb_to_grayscale = tv_functional.rgb_to_grayscale
    sys.modules.setdefault("torchvision.transforms.functional_tensor", stand_in)
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact
    from realesrgan.utils import RealESRGANer

    return RealESRGANer, SRVGGNetCompact


def _peer_upsampler(tile: int, tmp_dir: str):
    """RealESRGANer with our ``sr/compact-x4`` weights in Real-ESRGAN's own SRVGGNetCompact, fp32 on CPU."""
    import torch

    from enhancers.loader import build_model, read_state_dict, weights_path
    from enhancers.registry import get_spec

    RealESRGANer, SRVGGNetCompact = _import_peer()
    spec = get_spec(PEER_MODEL)
    state = read_state_dict(weights_path(spec))
    ours = build_model(spec, precision="fp32").module  # spandrel's copy, to read the hyper-parameters
    net = SRVGGNetCompact(num_in_ch=ours.num_in_ch, num_out_ch=ours.num_out_ch, num_feat=ours.num_feat,
                          num_conv=ours.num_conv, upscale=ours.upscale, act_type=ours.act_type)
    path = Path(tmp_dir) / "compact-x4.pth"
    torch.save({"params": state}, path)
    return RealESRGANer(scale=spec.scale, model_path=str(path), model=net, tile=tile, tile_pad=10, pre_pad=0,
                        half=False, device=torch.device("cpu"))


def _peer(megapixels: float, tile: int, allocator: bool, threads: int | None, repeat: int) -> dict:
    _start(allocator, threads)
    import tempfile

    import numpy as np
    import torch

    rgb = _photo(megapixels)
    # RealESRGANer's API takes OpenCV's uint8 H×W×3 in BGR order (only here, for the peer).
    bgr = np.ascontiguousarray(rgb[0].permute(1, 2, 0).mul(255).round().to(torch.uint8).numpy()[..., ::-1])
    with tempfile.TemporaryDirectory() as tmp:
        upsampler = _peer_upsampler(tile, tmp)
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per tile
                upsampler.enhance(bgr, outscale=4)
            best = min(best, time.perf_counter() - t0)
    return {"seconds": best, "peak_mib": peak_rss_mib(), "mp": rgb.shape[-1] * rgb.shape[-2] / 1e6,
            "threads": torch.get_num_threads()}


def _peer_vs_ours(threads: int | None) -> dict:
    """Largest difference between the peer's output and ours in fp32 (same weights) on a 0.25 MP crop."""
    _start(True, threads)
    import tempfile

    import numpy as np
    import torch

    from enhancers import sr

    rgb = _crop(_photo(1.0), 0.25)
    bgr = np.ascontiguousarray(rgb[0].permute(1, 2, 0).mul(255).round().to(torch.uint8).numpy()[..., ::-1])
    with tempfile.TemporaryDirectory() as tmp:
        theirs, _mode = _peer_upsampler(0, tmp).enhance(bgr, outscale=4)
    theirs = torch.from_numpy(np.ascontiguousarray(theirs[..., ::-1])).permute(2, 0, 1)[None].float()
    # The peer reads 8-bit input; give ours the same quantised input.
    quantised = rgb.mul(255).round().div(255)
    with torch.inference_mode():
        ours = sr.upscale(quantised, PEER_MODEL, out_dtype=torch.uint8, self_ensemble=False,
                          precision="fp32").float()
    return {"max_diff": float((ours - theirs).abs().max())}


def _mps(r: dict) -> float:
    return r["mp"] / r["seconds"]


def _row(label: str, r: dict, extra: str = "") -> None:
    print(f"  {label:<44} {r['mp']:>5.2f} MP {_mps(r):>7.3f} MP/s {r['peak_mib']:>7.0f} MiB{extra}", flush=True)


def card_path(model_id: str) -> Path:
    """A bundled model's card: ``weights/<task>-<name>.md`` (``sr/compact-x2`` → ``weights/sr-compact-x2.md``)."""
    return ROOT / "weights" / f"{model_id.replace('/', '-')}.md"


def write_card_section(model_id: str, diff: float, quality: dict, speed: dict[float, float], ran: str) -> Path:
    """Replace (or append) the card's CPU-precision section with this run's measurements."""
    from enhancers.registry import get_spec

    spec = get_spec(model_id)
    if spec.cpu_bf16:
        policy = ("Runs in **bf16** on CPUs with native bf16 (AVX512_BF16 or AMX-BF16) under `auto`, the default; "
                  "fp32 elsewhere. `--precision fp32`, `ENHANCERS_PRECISION=fp32` or the Super-resolution tab's "
                  "Advanced setting force fp32")
    else:
        policy = f"Runs in **fp32** on every CPU, whatever the precision setting: {spec.fp32_reason}"
    lines = [CARD_HEADING, "", f"- {policy}. The stats line and the CLI's `--json` report say which precision ran."]
    if spec.cpu_bf16:
        lines.append("- Measured by `benchmarks/cpu_precision.py --cards` (one thread of a 2-core AVX-512 CPU with "
                     f"AVX512_BF16): max |bf16 − fp32| = {diff:.0f} level(s) of 8 bits on a 0.25 MP crop")
        if quality["fp32"] is not None:
            delta = round(quality["bf16"] - quality["fp32"], 3) + 0.0  # no "-0.000"
            lines[-1] += (f"; held-out PSNR {quality['fp32']:.3f} dB in fp32, {quality['bf16']:.3f} dB in bf16 "
                          f"({delta:+.3f} dB)")
        if ran == "bf16":
            lines[-1] += "; speed: " + ", ".join(f"{ratio:.2f}× fp32 at {mp:g} MP" for mp, ratio in speed.items())
        lines[-1] += "."
    section = "\n".join(lines) + "\n"
    path = card_path(model_id)
    text = path.read_text()
    if CARD_HEADING in text:
        start = text.index(CARD_HEADING)
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("" if end < 0 else "\n" + text[end + 1:])
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
    return path


def main() -> None:
    from enhancers.loader import is_ready
    from enhancers.precision import cpu_has_native_bf16, tune_allocator
    from enhancers.registry import list_specs

    tune_allocator()
    bundled = [s.id for t in IMAGE_TASKS for s in list_specs(t) if s.source_kind == "bundled" and is_ready(s)]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="*", default=None, help="model ids (default: every bundled image model)")
    ap.add_argument("--sizes", nargs="*", type=float, default=None, help="megapixels (default: 1 3)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per measurement; the fastest counts")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the library's choice)")
    ap.add_argument("--quick", action="store_true", help=f"{PEER_MODEL} at 0.25 MP only (checks that it works)")
    ap.add_argument("--compile", action="store_true", help="also torch.compile (inductor, freezing) in bf16")
    ap.add_argument("--no-peer", action="store_true", help="skip Real-ESRGAN's RealESRGANer")
    ap.add_argument("--sections", nargs="*", type=int, default=[1, 2, 3, 4, 5], help="which of the 5 to run")
    ap.add_argument("--cards", action="store_true",
                    help="write each measured model's CPU-precision section into its card, weights/<name>.md")
    args = ap.parse_args()
    if args.quick:
        models, sizes, repeat = [PEER_MODEL], [0.25], 2
    else:
        models, sizes, repeat = args.models or bundled, args.sizes or [1.0, 3.0], args.repeat
    t = args.threads

    print(f"CPU with native bf16 (AVX512_BF16 / AMX-BF16): {cpu_has_native_bf16()} · allocator tuned: "
          f"{tune_allocator()} · threads: {t or 'library default'}")
    if 1 in args.sections:
        _models_section(models, sizes, t, repeat, args.cards)
    if 2 in args.sections:
        _ensemble_section(sizes, t)
    if 3 in args.sections:
        _allocator_section(models, sizes, t, repeat)
    if 4 in args.sections and not args.no_peer:
        _peer_section(sizes, t, repeat)
    if 5 in args.sections and args.compile:
        print(f"5. torch.compile (inductor, freezing), {PEER_MODEL} bf16, untiled, {sizes[0]} MP")
        eager = in_fresh_process(_compiled, PEER_MODEL, sizes[0], t, repeat, False)
        comp = in_fresh_process(_compiled, PEER_MODEL, sizes[0], t, repeat)
        _row("eager bf16, untiled", eager)
        _row("compiled bf16, untiled", comp, f"   {_mps(comp) / _mps(eager):.2f}× eager, compile "
             f"{comp['compile_s']:.1f} s (first call − later calls)")


def _models_section(models: list[str], sizes: list[float], t: int | None, repeat: int, cards: bool) -> None:
    from enhancers.registry import get_spec

    print("1. Models in fp32 and bf16 (allocator on); max diff on a 0.25 MP crop, PSNR on held-out photos")
    for model_id in models:
        spec = get_spec(model_id)
        note = "" if spec.cpu_bf16 else f"   [spec keeps fp32: {spec.fp32_reason}]"
        diff = in_fresh_process(_max_diff, model_id, t)["max_diff"]
        q = {p: in_fresh_process(_held_out_quality, model_id, p, t)["psnr"] for p in ("fp32", "bf16")}
        quality = ("" if q["fp32"] is None else
                   f"   PSNR fp32 {q['fp32']:.3f} dB, bf16 {q['bf16']:.3f} dB ({q['bf16'] - q['fp32']:+.3f})")
        print(f" {model_id}: max |bf16 − fp32| = {diff:.0f} levels{quality}{note}", flush=True)
        speed = {}
        for mp in sizes:
            res = {p: in_fresh_process(_ours, model_id, mp, p, True, t, repeat) for p in ("fp32", "auto")}
            speed[mp] = _mps(res["auto"]) / _mps(res["fp32"])
            _row("fp32", res["fp32"])
            _row(f"auto (ran {res['auto']['precision']})", res["auto"], f"   {speed[mp]:.2f}× fp32")
        if cards:
            print(f"  card: {write_card_section(model_id, diff, q, speed, res['auto']['precision'])}", flush=True)


def _ensemble_section(sizes: list[float], t: int | None) -> None:
    ens_mp = sizes[0]
    print(f"2. {PEER_MODEL}'s default ×4 self-ensemble (8 passes), {ens_mp} MP")
    ens = {p: in_fresh_process(_ours, PEER_MODEL, ens_mp, p, True, t, 1, True) for p in ("fp32", "bf16")}
    _row("fp32, self-ensemble", ens["fp32"])
    _row("bf16, self-ensemble", ens["bf16"], f"   {_mps(ens['bf16']) / _mps(ens['fp32']):.2f}× fp32")


def _allocator_section(models: list[str], sizes: list[float], t: int | None, repeat: int) -> None:
    from enhancers.registry import get_spec

    sr_models = [m for m in models if get_spec(m).task == "sr"] or [PEER_MODEL]
    print(f"3. Allocator thresholds (mmap 32 MiB, trim 1 GiB) on vs off, bundled SR models, {sizes[0]} MP")
    for model_id in sr_models:
        alloc = {(p, on): in_fresh_process(_ours, model_id, sizes[0], p, on, t, repeat)
                 for p in ("fp32", "auto") for on in (False, True)}
        print(f" {model_id}")
        for p in ("fp32", "auto"):
            _row(f"{p}, glibc defaults", alloc[(p, False)])
            _row(f"{p}, tuned", alloc[(p, True)],
                 f"   {_mps(alloc[(p, True)]) / _mps(alloc[(p, False)]):.2f}× defaults")
        old, new = alloc[("fp32", False)], alloc[("auto", True)]
        print(f"  auto ({new['precision']}) + tuned allocator: {_mps(new) / _mps(old):.2f}× today's fp32 path "
              f"(fp32, glibc defaults), {_mps(new) / _mps(alloc[('fp32', True)]):.2f}× the new fp32 path", flush=True)


def _peer_section(sizes: list[float], t: int | None, repeat: int) -> None:
    print(f"4. Peer: Real-ESRGAN's RealESRGANer (realesrgan 0.3.0), same {PEER_MODEL} weights, fp32")
    print(f"  max |ours fp32 − peer| on a 0.25 MP crop: "
          f"{in_fresh_process(_peer_vs_ours, t)['max_diff']:.0f} levels")
    for mp in sizes:
        ours = in_fresh_process(_ours, PEER_MODEL, mp, "auto", True, t, repeat)
        _row(f"ours (auto → {ours['precision']}, allocator on)", ours)
        for tile, label in ((256, "tiled (tile 256, pad 10)"), (0, "untiled")):
            peer = in_fresh_process(_peer, mp, tile, False, t, repeat)
            _row(f"RealESRGANer {label}", peer,
                 f"   ours: {_mps(ours) / _mps(peer):.2f}× its MP/s, {ours['peak_mib'] / peer['peak_mib']:.2f}× "
                 f"its peak RSS")


if __name__ == "__main__":
    main()
