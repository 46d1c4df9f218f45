"""Held-out style-transfer report and the bundled style networks' model cards.

1. Gatys runs on held-out photos with the offline hybrid and with pure random VGG19: content
   and style loss against step count. Each network's own losses are not comparable across
   networks, so every saved step is also scored with the hybrid's losses, with the colour
   distance to the style image (L*a*b* mean and standard deviation) and with the SSIM of its
   luminance to the photo's (structure kept).
2. Each bundled fast style against the hybrid Gatys result for the same photo and style,
   scored with the same hybrid losses.

Writes ``weights/style-report.json`` and ``weights/style-<name>.md``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .. import imageio, style
from ..registry import list_specs
from ..specs import WEIGHTS_DIR
from . import data
from .style import STYLES_DIR

CHECKPOINTS = (0, 10, 20, 40, 50, 100, 200, 400)
GATYS_STYLE = "elephants"


def colour_distance(image: torch.Tensor, style_rgb: torch.Tensor) -> float:
    """Euclidean distance between the L*a*b* mean/std vectors of two RGB images (lower = closer colours)."""
    return float((style.colour_stats(image) - style.colour_stats(style_rgb)).norm())


def structure_ssim(image: torch.Tensor, content: torch.Tensor) -> float:
    """SSIM of the luminance of ``image`` to ``content`` (same size), in [−1, 1]."""
    from skimage.metrics import structural_similarity

    a = style.luminance(image.float())[0, 0].numpy()
    b = style.luminance(content.float())[0, 0].numpy()
    return float(structural_similarity(a, b, data_range=1.0))


def _score(image: torch.Tensor, content: torch.Tensor, style_rgb: torch.Tensor) -> dict[str, float]:
    hybrid = style.evaluate_losses(image, content, style_rgb)
    return {"hybrid_content": hybrid["content"], "hybrid_style": hybrid["style"],
            "colour_distance": colour_distance(image, style_rgb), "ssim_to_photo": structure_ssim(image, content)}


def _gatys_curve(content: torch.Tensor, style_rgb: torch.Tensor, features: str, steps: int,
                 size: int) -> tuple[list[dict], torch.Tensor, float]:
    cfg = style.GatysConfig(steps=steps, size=size, features=features, every=1)
    rows, final, started = [], None, time.perf_counter()
    c = style.resize_long_side(content, size)
    for u in style.gatys(content, style_rgb, cfg):
        if u.step in CHECKPOINTS or u.done:
            h = u.history
            rows.append({"step": u.step, "own_content": h.content[-1], "own_style": h.style[-1],
                         **_score(u.image, c, style_rgb)})
        final = u.image
    return rows, final, time.perf_counter() - started


def main(steps: int = 100, photos: int = 2, out: str = "weights/style-report.json", size: int = 256,
         part: str = "all", fast_photos: int | None = None) -> int:
    """Write the report (``part``: ``"gatys"``, ``"fast"`` or ``"all"``; parts merge into ``out``).

    The fast part compares each bundled network with a hybrid Gatys run on the first
    ``fast_photos`` held-out photos (all ``photos`` when None); the Gatys results of the
    ``gatys`` part are reused where they exist (style ``elephants``).
    """
    torch.set_num_threads(1)
    held = data.split().heldout[:photos]
    path = Path(out)
    report: dict = json.loads(path.read_text()) if path.is_file() else {}
    report.update({"steps": steps, "size": size, "photos": [p.name for p in held], "gatys_style": GATYS_STYLE})
    report.setdefault("gatys", {})
    report.setdefault("fast", {})
    cache = Path("runs") / "style-report-images"
    cache.mkdir(parents=True, exist_ok=True)
    style_rgb = imageio.open_image(STYLES_DIR / f"{GATYS_STYLE}.jpg").rgb
    if part in ("gatys", "all"):
        for p in held:
            content = imageio.open_image(p).rgb
            for features in ("gatys/hybrid", "gatys/random-vgg19"):
                rows, final, secs = _gatys_curve(content, style_rgb, features, steps, size)
                report["gatys"].setdefault(features, {})[p.name] = {"curve": rows, "seconds": round(secs, 1)}
                imageio.save_png(cache / f"{p.stem}-{GATYS_STYLE}-{features.split('/')[1]}.png", final)
                print(features, p.name, json.dumps(rows[-1]), flush=True)
                path.write_text(json.dumps(report, indent=1))
    if part in ("fast", "all"):
        for spec in list_specs(style.TASK):
            if spec.source_kind != "bundled":
                continue
            name = spec.id.split("/")[1]
            srgb = imageio.open_image(STYLES_DIR / f"{name}.jpg").rgb
            per_photo = {}
            for p in held[:fast_photos]:
                c = style.resize_long_side(imageio.open_image(p).rgb, size)
                fast = style.fast_stylize(c, spec.id)
                imageio.save_png(cache / f"{p.stem}-{name}-fast.png", fast)
                gatys_png = cache / f"{p.stem}-{name}-hybrid.png"
                if gatys_png.is_file():
                    gatys_img = imageio.open_image(gatys_png).rgb
                else:
                    _, gatys_img, _ = _gatys_curve(c, srgb, "gatys/hybrid", steps, size)
                    imageio.save_png(gatys_png, gatys_img)
                per_photo[p.name] = {"fast": _score(fast, c, srgb), "gatys": _score(gatys_img, c, srgb),
                                     "photo": _score(c, c, srgb)}
                print(spec.id, p.name, json.dumps(per_photo[p.name]), flush=True)
            report["fast"][spec.id] = per_photo
            path.write_text(json.dumps(report, indent=1))
        for spec in list_specs(style.TASK):
            if spec.source_kind == "bundled":
                write_card(spec.id, report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    print(markdown_summary(report))
    return 0


def _mean(rows: list[dict], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def markdown_summary(report: dict) -> str:
    """Tables: Gatys loss vs step (hybrid vs random VGG19), and fast styles vs their Gatys results."""
    lines = [f"Gatys on held-out photos ({', '.join(report['photos'])}), style `{report['gatys_style']}`, "
             f"{report['size']} px, L-BFGS, default weights; means over photos.", "",
             "| Network | Step | own content | own style | hybrid content | hybrid style | colour dist. | SSIM |",
             "|---|---|---|---|---|---|---|---|"]
    for features, per_photo in report["gatys"].items():
        curves = [v["curve"] for v in per_photo.values()]
        for i, row in enumerate(curves[0]):
            rows = [c[i] for c in curves]
            lines.append(f"| {features} | {row['step']} | {_mean(rows, 'own_content'):.3f} | "
                         f"{_mean(rows, 'own_style'):.3f} | {_mean(rows, 'hybrid_content'):.3f} | "
                         f"{_mean(rows, 'hybrid_style'):.3f} | {_mean(rows, 'colour_distance'):.1f} | "
                         f"{_mean(rows, 'ssim_to_photo'):.3f} |")
    lines += ["", "Fast styles vs the hybrid Gatys result (same photo, style and losses); means over photos.", "",
              "| Model | Image | hybrid content | hybrid style | colour dist. | SSIM |", "|---|---|---|---|---|---|"]
    for model, per_photo in report["fast"].items():
        for which in ("photo", "fast", "gatys"):
            rows = [v[which] for v in per_photo.values()]
            label = {"photo": "the photo itself", "fast": "fast network", "gatys": f"Gatys {report['steps']} steps"}
            lines.append(f"| {model} | {label[which]} | {_mean(rows, 'hybrid_content'):.3f} | "
                         f"{_mean(rows, 'hybrid_style'):.3f} | {_mean(rows, 'colour_distance'):.1f} | "
                         f"{_mean(rows, 'ssim_to_photo'):.3f} |")
    return "\n".join(lines)


def write_card(model_id: str, report: dict) -> Path:
    """``weights/style-<name>.md`` from the training summary and the held-out report."""
    name = model_id.split("/")[1]
    summary_path = Path("runs") / f"style-{name}" / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    per_photo = report["fast"].get(model_id, {})
    rows = []
    for which, label in (("photo", "the photo itself"), ("fast", "this network"),
                         ("gatys", f"Gatys, hybrid, {report['steps']} L-BFGS steps")):
        vals = [v[which] for v in per_photo.values()]
        if vals:
            rows.append(f"| {label} | {_mean(vals, 'hybrid_content'):.3f} | {_mean(vals, 'hybrid_style'):.3f} | "
                        f"{_mean(vals, 'colour_distance'):.1f} | {_mean(vals, 'ssim_to_photo'):.3f} |")
    if summary:
        cfg = summary["config"]
        training = (f"{summary['steps']} Adam steps in {summary['seconds'] / 60:.1f} min on a shared 2-core CPU "
                    f"(1 thread), batch {cfg['batch']} of {cfg['crop']}×{cfg['crop']} random crops of the "
                    f"{len(data.split().train)} training photos (short side {cfg['photo_short_side']} px), "
                    f"learning rate {cfg['lr']} decayed over the last 30 % of the budget, loss weights content "
                    f"{cfg['content_weight']}, style {cfg['style_weight']}, TV {cfg['tv_weight']}; style targets "
                    f"from the style image at {cfg['style_size']} px. Final smoothed losses: content "
                    f"{summary['final_ema']['content']:.3f}, style {summary['final_ema']['style']:.3f}. "
                    f"Width {cfg['width']}, {cfg['res_blocks']} residual blocks, {summary['params']:,} parameters, "
                    f"{summary['bytes'] / 1e6:.1f} MB.\n\nCommand: `python -m enhancers.training style --style "
                    f"{name} --minutes {cfg['minutes']:g}`")
        total = summary["steps"]
        earlier, prev = [], summary.get("previous")
        while prev:
            earlier.append(prev)
            prev = prev.get("previous")
        if earlier:
            runs = ", then ".join(f"{r['steps']} steps in {r['seconds'] / 60:.1f} min" for r in reversed(earlier))
            total += sum(r["steps"] for r in earlier)
            training += (f"\n\nThis run continued (`--init weights/style-{name}.safetensors`) from earlier runs with "
                         f"the same settings ({runs}), so the network saw {total} steps in all.")
    else:
        training = "Training summary not found (runs/ is not committed)."
    layers = ", ".join(summary["config"]["style_layers"]) if summary else "the training layers"
    seen = f"{total:,} Adam steps in all" if summary else "a short run"
    text = f"""# {model_id}: fast style network (bundled)

A Johnson et al. 2016 image transformation network (https://arxiv.org/abs/1603.08155), scaled down
for CPU: reflection-padded 9×9 convolution, two stride-2 convolutions, residual blocks at 1/4
resolution, two stride-2 transposed convolutions, 9×9 output convolution, affine InstanceNorm; key
names as in `maze/FastStyleTransfer`. Unlike the Hub networks it adds its output to the input and
was initialised as the identity (last convolution zeroed), so it only learns the change of style.
Input and output: RGB float32 in [0, 1]. It runs on the whole image at once (InstanceNorm uses
whole-image statistics, so tiles would show seams).

- Style image: `examples/styles/{name}.jpg` (license in `examples/styles/LICENSE.md`).
- Weights license: MIT (trained by this project).
- Training loss: content at MobileNetV2 block 6 (torchvision ImageNet weights, offline), Gram
  matrices at {layers} (`vgg.*` = a fixed-seed random VGG19), plus total variation; all relative
  (see `enhancers/style.py`). The evaluation below uses the full hybrid set, which adds
  MobileNetV2 blocks 10 and 13.

## Training

{training}

## Held-out evaluation

Photos never trained on: {', '.join(per_photo) or 'none'}, {report['size']} px on the longer side. Losses
through the hybrid network (lower is better); colour distance = distance between L*a*b* mean/std
vectors of the image and the style image (lower = closer colours); SSIM of the luminance to the
photo (higher = structure kept).

| Image | content loss | style loss | colour distance | SSIM to photo |
|---|---|---|---|---|
{chr(10).join(rows)}

Limitations: trained on a 2-core CPU ({seen} of batch 2, where Johnson et al. use 40,000 of
batch 4), on ~30 photos: it moves the palette part of the way and adds a fine pattern, with
some checkerboard artefacts from the transposed convolutions; the Gatys result is far closer to
the style. Retrain longer with `--init weights/style-<name>.safetensors --minutes N`.
"""
    path = WEIGHTS_DIR / f"style-{name}.md"
    path.write_text(text)
    return path
