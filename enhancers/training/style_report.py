"""Held-out style-transfer report and the bundled style networks' model cards.

1. Gatys runs on held-out photos with the offline ImageNet VGG16 (the default), the
   MobileNetV2 + random VGG19 hybrid and pure random VGG19: each network's own content and
   style loss against step count, and, comparable across networks because no run optimises
   it, the Gram distance in ImageNet AlexNet, the L*a*b* sliced Wasserstein distance and the
   L*a*b* mean/std distance to the style image, and the SSIM of the luminance to the photo
   (:mod:`enhancers.style_metrics`).
2. ``unseen``: the same final scores for VGG16 and the hybrid on photos and styles given by
   folder (ones used nowhere else in the project).
3. Each bundled fast style against the VGG16 Gatys result for the same photo and style,
   scored with the hybrid losses (the earlier report's), the VGG16 losses (Johnson et al.'s,
   Johnson et al.'s) and the measures above; ``compare_weights`` adds the scores of other
   weights files for the same styles (e.g. candidates from a retraining, or the weights they replace).

Writes ``weights/style-report.json`` and ``weights/style-<name>.md``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .. import imageio, style, style_metrics
from ..registry import list_specs
from ..specs import WEIGHTS_DIR
from . import data
from .cards import CPU_PRECISION_HEADING, card_section
from .style import STYLES_DIR

CHECKPOINTS = (0, 10, 20, 40, 50, 100, 200, 400)
GATYS_STYLE = "elephants"
GATYS_NETWORKS = ("gatys/vgg16", "gatys/hybrid", "gatys/random-vgg19")
UNSEEN_NETWORKS = ("gatys/vgg16", "gatys/hybrid")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def colour_distance(image: torch.Tensor, style_rgb: torch.Tensor) -> float:
    """Euclidean distance between the L*a*b* mean/std vectors of two RGB images (lower = closer colours)."""
    return float((style.colour_stats(image) - style.colour_stats(style_rgb)).norm())


def structure_ssim(image: torch.Tensor, content: torch.Tensor) -> float:
    """SSIM of the luminance of ``image`` to ``content`` (same size), in [−1, 1]."""
    return style_metrics.structure_ssim(image, content)


def _neutral(image: torch.Tensor, content: torch.Tensor, style_rgb: torch.Tensor) -> dict[str, float]:
    """Scores no feature network here optimises: AlexNet Gram, L*a*b* SWD, colour distance, SSIM."""
    return {**style_metrics.style_scores(image, content, style_rgb),
            "colour_distance": colour_distance(image, style_rgb)}


def _score(image: torch.Tensor, content: torch.Tensor, style_rgb: torch.Tensor) -> dict[str, float]:
    hybrid = style.evaluate_losses(image, content, style_rgb, features="gatys/hybrid")
    vgg16 = style.evaluate_losses(image, content, style_rgb, features="gatys/vgg16")
    return {"hybrid_content": hybrid["content"], "hybrid_style": hybrid["style"],
            "vgg16_content": vgg16["content"], "vgg16_style": vgg16["style"],
            **_neutral(image, content, style_rgb)}


def _gatys_curve(content: torch.Tensor, style_rgb: torch.Tensor, features: str, steps: int,
                 size: int) -> tuple[list[dict], torch.Tensor, float]:
    cfg = style.GatysConfig(steps=steps, size=size, features=features, every=1)
    rows, final, started, scoring = [], None, time.perf_counter(), 0.0
    c = style.resize_long_side(content, size)
    for u in style.gatys(content, style_rgb, cfg):
        if u.step in CHECKPOINTS or u.done:
            t = time.perf_counter()
            h = u.history
            rows.append({"step": u.step, "own_content": h.content[-1], "own_style": h.style[-1],
                         **_neutral(u.image, c, style_rgb)})
            scoring += time.perf_counter() - t
        final = u.image
    return rows, final, time.perf_counter() - started - scoring


def _images(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def unseen_check(photos_dir: str | Path, styles_dir: str | Path, steps: int, size: int) -> dict:
    """VGG16 vs hybrid Gatys at ``steps``/``size`` on every photo × style pair of two folders: final scores."""
    result: dict = {"photos": [p.name for p in _images(photos_dir)], "styles": [p.name for p in _images(styles_dir)],
                    "pairs": {}}
    cache = Path("runs") / "style-report-images"
    for sp in _images(styles_dir):
        srgb = imageio.open_image(sp).rgb
        for pp in _images(photos_dir):
            c = style.resize_long_side(imageio.open_image(pp).rgb, size)
            row = {"photo": _neutral(c, c, srgb)}
            for features in UNSEEN_NETWORKS:
                started = time.perf_counter()
                *_, last = style.gatys(c, srgb, style.GatysConfig(steps=steps, size=size, features=features,
                                                                 every=steps))
                row[features] = {**_neutral(last.image, c, srgb), "seconds": round(time.perf_counter() - started, 1)}
                imageio.save_png(cache / f"unseen-{pp.stem}-{sp.stem}-{features.split('/')[1]}.png", last.image)
            result["pairs"][f"{pp.name} × {sp.name}"] = row
            print(pp.name, sp.name, json.dumps(row), flush=True)
    return result


def _fast_from_file(path: Path):
    from safetensors.torch import load_file

    from ..archs.johnson import build

    return build(load_file(str(path)), value_range=1.0, residual=True,
                 upsample=weights_metadata(path, "upsample", "transpose")).module


def main(steps: int = 100, photos: int = 2, out: str = "weights/style-report.json", size: int = 256,
         part: str = "all", fast_photos: int | None = None, unseen_photos: str | None = None,
         unseen_styles: str | None = None, compare_weights: str | None = None,
         compare_label: str = "other weights") -> int:
    """Write the report (``part``: ``"gatys"``, ``"fast"``, ``"unseen"`` or ``"all"``; parts merge into ``out``).

    The fast part compares each bundled network with a VGG16 Gatys run on the first
    ``fast_photos`` held-out photos (all ``photos`` when None), reusing Gatys images cached in
    ``runs/style-report-images``; ``compare_weights`` is a folder of other
    ``style-<name>.safetensors`` to score alongside, as ``compare_label``. ``unseen`` needs ``unseen_photos`` and
    ``unseen_styles`` (folders) and runs only when asked for by name.
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
        report["gatys"] = {k: v for k, v in report["gatys"].items() if k in GATYS_NETWORKS}
        for p in held:
            content = imageio.open_image(p).rgb
            for features in GATYS_NETWORKS:
                rows, final, secs = _gatys_curve(content, style_rgb, features, steps, size)
                report["gatys"].setdefault(features, {})[p.name] = {"curve": rows, "seconds": round(secs, 1)}
                imageio.save_png(cache / f"{p.stem}-{GATYS_STYLE}-{features.split('/')[1]}.png", final)
                print(features, p.name, json.dumps(rows[-1]), flush=True)
                path.write_text(json.dumps(report, indent=1))
    if part == "unseen":
        if not (unseen_photos and unseen_styles):
            raise ValueError("the unseen part needs a folder of photos and a folder of styles")
        report["unseen"] = {"steps": steps, "size": size, **unseen_check(unseen_photos, unseen_styles, steps, size)}
        path.write_text(json.dumps(report, indent=1))
    if part in ("fast", "all"):
        report.pop("compare_label", None)  # older reports: one label for every style; now one per style
        for spec in list_specs(style.TASK):
            if spec.source_kind != "bundled":
                continue
            name = spec.id.split("/")[1]
            srgb = imageio.open_image(STYLES_DIR / f"{name}.jpg").rgb
            other = Path(compare_weights) / f"style-{name}.safetensors" if compare_weights else None
            per_photo = {}
            for p in held[:fast_photos]:
                c = style.resize_long_side(imageio.open_image(p).rgb, size)
                fast = style.fast_stylize(c, spec.id)
                imageio.save_png(cache / f"{p.stem}-{name}-fast.png", fast)
                gatys_png = cache / f"{p.stem}-{name}-vgg16.png"
                if gatys_png.is_file():
                    gatys_img = imageio.open_image(gatys_png).rgb
                else:
                    _, gatys_img, _ = _gatys_curve(c, srgb, "gatys/vgg16", steps, size)
                    imageio.save_png(gatys_png, gatys_img)
                per_photo[p.name] = {"fast": _score(fast, c, srgb), "gatys": _score(gatys_img, c, srgb),
                                     "photo": _score(c, c, srgb)}
                if other is not None and other.is_file():
                    with torch.no_grad():
                        alt = _fast_from_file(other)(c).clamp(0, 1)
                    imageio.save_png(cache / f"{p.stem}-{name}-compare.png", alt)
                    per_photo[p.name]["compare"] = _score(alt, c, srgb)
                print(spec.id, p.name, json.dumps(per_photo[p.name]), flush=True)
            report["fast"][spec.id] = per_photo
            if other is not None and other.is_file():
                shipped = loss_network(WEIGHTS_DIR / f"style-{name}.safetensors")
                report.setdefault("compare_labels", {})[spec.id] = _compare_label(loss_network(other), shipped,
                                                                                  compare_label)
            else:
                report.get("compare_labels", {}).pop(spec.id, None)
            path.write_text(json.dumps(report, indent=1))
        for spec in list_specs(style.TASK):
            if spec.source_kind == "bundled":
                write_card(spec.id, report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    print(markdown_summary(report))
    return 0


def _compare_label(compared_loss: str, shipped_loss: str, fallback: str) -> str:
    if compared_loss == "gatys/vgg16" and shipped_loss != compared_loss:
        return "VGG16-loss retraining (not shipped)"
    if compared_loss == "gatys/hybrid" and shipped_loss != compared_loss:
        return "hybrid-loss network (replaced)"
    return f"{fallback} ({compared_loss} loss)"


def compare_row_label(report: dict, model_id: str) -> str | None:
    """The label of the compared weights' row for one style (older reports: one label for all)."""
    return report.get("compare_labels", {}).get(model_id, report.get("compare_label"))


def _mean(rows: list[dict], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def _fmt(rows: list[dict], key: str, f: str) -> str:
    """Mean of ``key`` over rows, formatted; "–" where a row lacks the value (not recorded)."""
    return "–" if any(r.get(key) is None for r in rows) else f"{_mean(rows, key):{f}}"


FAST_LABELS = {"photo": "the photo itself", "compare": "{compare}", "fast": "bundled network",
               "gatys": "Gatys/vgg16, {steps} steps"}
FAST_COLUMNS = (("hybrid_content", "hybrid content", ".3f"), ("hybrid_style", "hybrid style", ".3f"),
                ("vgg16_content", "VGG16 content", ".3f"), ("vgg16_style", "VGG16 style", ".3f"),
                ("alexnet_gram", "AlexNet Gram", ".3f"), ("lab_swd", "L*a*b* SWD", ".1f"),
                ("colour_distance", "colour dist.", ".1f"), ("ssim", "SSIM", ".3f"))


def fast_table(report: dict, models: list[str] | None = None) -> list[str]:
    """Markdown rows: each bundled fast style (and the compared weights) vs its Gatys result."""
    lines = ["| Model | Image | " + " | ".join(c[1] for c in FAST_COLUMNS) + " |",
             "|---|---|" + "---|" * len(FAST_COLUMNS)]
    for model, per_photo in report["fast"].items():
        if models is not None and model not in models:
            continue
        for which in ("photo", "fast", "compare", "gatys"):
            rows = [v[which] for v in per_photo.values() if which in v]
            if rows:
                label = FAST_LABELS[which].format(steps=report["steps"], compare=compare_row_label(report, model))
                lines.append(f"| `{model}` | {label} | "
                             + " | ".join(f"{_mean(rows, k):{f}}" for k, _, f in FAST_COLUMNS) + " |")
    return lines


def unseen_table(unseen: dict) -> list[str]:
    """Markdown: means over the unseen pairs, photo vs VGG16 vs hybrid, plus per-pair wins."""
    pairs = list(unseen["pairs"].values())
    lines = ["| Image | AlexNet Gram ↓ | L*a*b* SWD ↓ | colour dist. ↓ | SSIM to photo | seconds |",
             "|---|---|---|---|---|---|"]
    for which in ("photo", *UNSEEN_NETWORKS):
        rows = [p[which] for p in pairs]
        secs = f"{_mean(rows, 'seconds'):.0f}" if "seconds" in rows[0] else "–"
        lines.append(f"| {which if which != 'photo' else 'the photo itself'} | {_mean(rows, 'alexnet_gram'):.3f} | "
                     f"{_mean(rows, 'lab_swd'):.1f} | {_mean(rows, 'colour_distance'):.1f} | "
                     f"{_mean(rows, 'ssim'):.3f} | {secs} |")
    a, b = UNSEEN_NETWORKS
    for key, label in (("alexnet_gram", "AlexNet Gram"), ("lab_swd", "L*a*b* SWD")):
        wins = sum(p[a][key] < p[b][key] for p in pairs)
        lines.append(f"\n{a} closer to the style than {b} by {label} in {wins} of {len(pairs)} pairs.")
    return lines


def markdown_summary(report: dict) -> str:
    """Tables: Gatys scores vs step per network, the unseen check, and fast styles vs their Gatys results."""
    lines = [f"Gatys on held-out photos ({', '.join(report['photos'])}), style `{report['gatys_style']}`, "
             f"{report['size']} px, L-BFGS, default weights; means over photos.", "",
             "| Network | Step | own content | own style | AlexNet Gram | L*a*b* SWD | colour dist. | SSIM |",
             "|---|---|---|---|---|---|---|---|"]
    for features, per_photo in report["gatys"].items():
        curves = [v["curve"] for v in per_photo.values()]
        for i, row in enumerate(curves[0]):
            rows = [c[i] for c in curves]
            lines.append(f"| `{features}` | {row['step']} | {_mean(rows, 'own_content'):.3f} | "
                         f"{_mean(rows, 'own_style'):.3f} | {_fmt(rows, 'alexnet_gram', '.3f')} | "
                         f"{_mean(rows, 'lab_swd'):.1f} | {_mean(rows, 'colour_distance'):.1f} | "
                         f"{_mean(rows, 'ssim'):.3f} |")
    if "unseen" in report:
        u = report["unseen"]
        lines += ["", f"Unseen photos ({', '.join(u['photos'])}) × styles ({', '.join(u['styles'])}), "
                      f"{u['size']} px, {u['steps']} steps; means over {len(u['pairs'])} pairs.", "",
                  *unseen_table(u)]
    lines += ["", "Fast styles vs the VGG16 Gatys result (same photo, style and losses); means over photos.", "",
              *fast_table(report)]
    return "\n".join(lines)


# Training before the VGG16 stages (hybrid loss, Adam steps), from the earlier cards: the VGG16 stages continue it.
HYBRID_PRETRAINING = {"rhythm": 1280, "truchet": 3215, "elephants": 3767}


# Run folders of the VGG16-loss stages, in training order: transposed convolutions, then resize convolutions.
VGG16_RUN_DIRS = ("vgg16", "vgg16r")


def _summaries(name: str) -> list[dict]:
    """This style's VGG16-loss training summaries, oldest first (``runs/<dir>/style-<name>/summary.json`` and
    the chain of earlier stages each one records, over :data:`VGG16_RUN_DIRS`)."""
    stages = []
    for folder in VGG16_RUN_DIRS:
        path = Path("runs") / folder / f"style-{name}" / "summary.json"
        chain, s = [], json.loads(path.read_text()) if path.is_file() else None
        while s:
            chain.append(s)
            s = s.get("previous")
        stages += chain[::-1]
    return stages


def _training_text(name: str) -> str:
    stages = _summaries(name)
    if not stages:
        return "Training summary not found (runs/ is not committed)."
    cfg, last = stages[-1]["config"], stages[-1]
    runs = ", then ".join(f"{r['steps']:,} steps in {r['seconds'] / 60:.1f} min at style weight "
                          f"{r['config']['style_weight']:g}, TV {r['config']['tv_weight']:g}, lr {r['config']['lr']:g}"
                          + (" with resize convolutions" if r["config"].get("upsample") == "resize" else "")
                          for r in stages)
    total = sum(r["steps"] for r in stages)
    return (f"{len(stages)} time-capped stages with the VGG16 loss ({runs}; {total:,} Adam steps) on a shared "
            f"2-core CPU (1 thread), continuing (`--init`) from the earlier weights trained with the hybrid loss "
            f"({HYBRID_PRETRAINING.get(name, 0):,} steps). Batch {cfg['batch']} of {cfg['crop']}×{cfg['crop']} "
            f"random crops of the {len(data.split().train)} training photos (short side {cfg['photo_short_side']} "
            f"px), learning rate decayed over the last 30 % of each stage, content weight "
            f"{cfg['content_weight']:g}; style targets from the "
            f"style image at {cfg['style_size']} px. Final smoothed losses: content {last['final_ema']['content']:.3f}, "
            f"style {last['final_ema']['style']:.3f}. Width {cfg['width']}, {cfg['res_blocks']} residual blocks, "
            f"{last['params']:,} parameters, {last['bytes'] / 1e6:.1f} MB.{_resize_text(stages)}\n\nCommand of the "
            f"last stage: `python -m enhancers.training style --style {name} --minutes {cfg['minutes']:g} "
            f"--style-weight {cfg['style_weight']:g} --tv-weight {cfg['tv_weight']:g} --lr {cfg['lr']:g} "
            f"--init weights/style-{name}.safetensors` (all stages: `make train-style`).")


def _resize_text(stages: list[dict]) -> str:
    first = next((i for i, r in enumerate(stages) if r["config"].get("upsample") == "resize"), None)
    if not first:
        return ""
    return (f" The first {first} VGG16 stages used the paper's stride-2 transposed convolutions, which brought out a "
            "regular grid (a checkerboard, clearest for rhythm in magenta and green) that the VGG16 Gram matrices "
            "reward; the later stages replace them by nearest ×2 upsampling and a 3×3 convolution (Odena et al. "
            "2016), started from the transposed kernels (`enhancers.archs.johnson.resize_conv_state`).")


def weights_metadata(weights: Path, key: str, default: str) -> str:
    """One value of a safetensors file's metadata, ``default`` when it has none (files written before the key)."""
    from safetensors import safe_open

    with safe_open(str(weights), "pt") as f:
        return (f.metadata() or {}).get(key, default)


def loss_network(weights: Path) -> str:
    """The loss network a bundled style network was trained with (safetensors metadata; older files: the hybrid)."""
    return weights_metadata(weights, "loss_network", "gatys/hybrid")


_HYBRID_LOSS = """- Training loss: content at MobileNetV2 block 6 (torchvision ImageNet weights, offline), Gram
  matrices at mobilenet.1, mobilenet.3, mobilenet.6 and relu1_1–relu3_1 of a fixed-seed random VGG19
  (`gatys/hybrid` without blocks 10 and 13), plus total variation; all relative (see `enhancers/style.py`)."""
_VGG16_LOSS = """- Training loss: Johnson et al.'s perceptual loss through torchvision's ImageNet VGG16 (offline,
  `gatys/vgg16`): content at relu2_2, Gram matrices at relu1_2, relu2_2, relu3_3 and relu4_3, plus
  total variation; all relative (see `enhancers/style.py`). Earlier stages used the
  MobileNetV2 + random VGG19 hybrid (`gatys/hybrid`)."""


# Why a VGG16-loss retraining was not shipped, by style ("" = the reason the first retraining gave for all three).
NOT_SHIPPED_WHY = {
    "": ("it is not at least as good as these weights by the earlier report's measures (hybrid style loss, colour "
         "distance, SSIM; the hybrid style loss rises), and the VGG16 stages bring out a regular grid from the "
         "transposed convolutions, a high-frequency pattern that the VGG16 Gram matrices reward."),
    "truchet": ("with the VGG16 loss this small network drifts back towards the identity. It barely changes the "
                "photo (SSIM 0.875, against 0.598 for these weights) and moves the colours less. Four more runs with "
                "resize convolutions (style weight 80 at learning rates 0.004 and 0.001 from that retraining; from "
                "these weights, 300 at 0.002, and 80 at 0.002 with the style image at 128 px for a finer pattern, "
                "`--style-size 128`) went the same way within 100–400 steps: content loss near 0 (0.03–0.2) and "
                "style loss back at about the photo's own (1.4–1.5 on 96 px crops). A network of the paper's size "
                "(width 32, 5 residual blocks, 6.7 MB), trained from the identity, stayed at style loss 1.66 after "
                "2,000 steps (8 min). The tiles' Gram matrices in VGG16 are dominated by a large, regular geometric "
                "pattern that these networks did not learn to draw in the time given, and a colour shift alone does "
                "not lower them, so the photo itself is the nearest minimum they find; Gatys, which optimises the "
                "pixels, does draw it (VGG16 style 0.06)."),
}
_UPSAMPLING_TEXT = {False: "two stride-2 transposed convolutions",
                    True: "two ×2 upsamplings (nearest neighbour, then a 3×3 convolution, computed as four phases "
                          "and a pixel shuffle; no checkerboard)"}
_ARTEFACT_TEXT = {False: ", with some checkerboard artefacts from the transposed convolutions", True: ""}


def write_card(model_id: str, report: dict) -> Path:
    """``weights/style-<name>.md`` from the training summaries and the held-out report.

    When the shipped weights were trained with the VGG16 loss, the training section comes from the
    VGG16 stages' summaries; otherwise the card's own "Training" section is kept and the VGG16 stages
    are described as a retraining that was not shipped (its scores are the report's compared row).
    An existing "CPU precision" section (``benchmarks/cpu_precision.py --cards``) is carried over verbatim.
    """
    name = model_id.split("/")[1]
    path = WEIGHTS_DIR / f"style-{name}.md"
    old = path.read_text() if path.is_file() else ""
    precision = card_section(old, CPU_PRECISION_HEADING).rstrip()
    per_photo = report["fast"].get(model_id, {})
    stages = _summaries(name)
    vgg16_shipped = loss_network(WEIGHTS_DIR / f"style-{name}.safetensors") == "gatys/vgg16"
    resize = weights_metadata(WEIGHTS_DIR / f"style-{name}.safetensors", "upsample", "transpose") == "resize"
    if vgg16_shipped:
        training = f"## Training\n\n{_training_text(name)}\n"
        if compare_row_label(report, model_id):
            training += (f"\nThe row \"{compare_row_label(report, model_id)}\" below is the network these weights "
                         "replace.\n")
        seen = HYBRID_PRETRAINING.get(name, 0) + sum(r["steps"] for r in stages)
    else:
        training = card_section(old, "## Training").rstrip() + "\n"
        if stages:
            training += (f"\n## VGG16-loss retraining (not shipped)\n\n{_training_text(name)}\n\nThe result (row "
                         f"\"{compare_row_label(report, model_id)}\" below) was not shipped: "
                         f"{NOT_SHIPPED_WHY.get(name, NOT_SHIPPED_WHY[''])}\n")
        seen = HYBRID_PRETRAINING.get(name, 0)
    text = f"""# {model_id}: fast style network (bundled)

A Johnson et al. 2016 image transformation network (https://arxiv.org/abs/1603.08155), scaled down
for CPU: reflection-padded 9×9 convolution, two stride-2 convolutions, residual blocks at 1/4
resolution, {_UPSAMPLING_TEXT[resize]}, 9×9 output convolution, affine InstanceNorm; key
names as in `maze/FastStyleTransfer`. Unlike the Hub networks it adds its output to the input and
was initialised as the identity (last convolution zeroed), so it only learns the change of style.
Input and output: RGB float32 in [0, 1]. It runs on the whole image at once (InstanceNorm uses
whole-image statistics, so tiles would show seams).

- Style image: `examples/styles/{name}.jpg` (license in `examples/styles/LICENSE.md`).
- Weights license: MIT (trained by this project).
{_VGG16_LOSS if vgg16_shipped else _HYBRID_LOSS}

{training}
## Held-out evaluation

Photos never trained on: {', '.join(per_photo) or 'none'}, {report['size']} px on the longer side; means
over photos. Content and style losses through the hybrid network (the earlier report's yardstick) and
through VGG16 (Johnson et al.'s loss); AlexNet Gram = Gram-matrix distance to the style image in
ImageNet AlexNet, which no loss here uses; L*a*b* SWD = sliced Wasserstein distance between the colour
distributions; colour dist. = distance between L*a*b* mean/std vectors (all lower = closer to the
style); SSIM of the luminance to the photo (higher = structure kept).

{chr(10).join(fast_table(report, [model_id]))}

Limitations: trained on a 2-core CPU ({seen:,} Adam steps in all of batch 2, where Johnson et al. use
40,000 of batch 4), on ~30 photos: it moves the palette part of the way and adds a fine pattern{_ARTEFACT_TEXT[resize]};
the Gatys result is far closer to the style. Retrain longer with `--init weights/style-{name}.safetensors --minutes N`.
"""
    path.write_text(text + ("\n" + precision + "\n" if precision else ""))
    return path
