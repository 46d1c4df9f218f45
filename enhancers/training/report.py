"""Side-by-side held-out evaluation of registered SR models, and model cards for bundled weights."""

from __future__ import annotations

import json
from pathlib import Path

from ..loader import load_model
from ..registry import get_spec, list_specs
from ..self_ensemble import self_ensemble
from ..specs import WEIGHTS_DIR
from . import data
from .cards import CPU_PRECISION_HEADING, append_section, existing_section
from .evaluate import evaluate_sr

CORPUS_LICENSES = ("Debian `mate-backgrounds` 1.26.0 (`nature/`): GPL-2+; Debian `lomiri-wallpapers-16.04` "
                   "20.04.0: CC-BY-4.0, CC-BY-SA-4.0 or CC0-1.0 per file (see the packages' copyright files); "
                   "scikit-image sample photos (public domain / CC0 / per its data README)")


# Where a bundled SR model's training stages live, in order: the first run, a CPU
# continuation, and a GPU continuation. Each stage that exists started from the one before.
STAGE_DIRS = (Path("runs"), Path("runs/ft"), Path("runs/gpu"))
ENSEMBLE_SUFFIX = " + self-ensemble"


def sr_table(scale: int, model_ids: list[str] | None = None, crop: int = 512) -> dict:
    """Mean Y-PSNR/SSIM on all held-out photos for each local SR model usable at ``scale``.

    Learned models get a second row, ``"<id> + self-ensemble"``: the mean over 8 flips and rotations.
    """
    ids = model_ids or [s.id for s in list_specs("sr") if s.source_kind != "hub" and (s.any_scale or s.scale == scale)]
    heldout = data.split().heldout
    rows = {}
    for model_id in ids:
        spec = get_spec(model_id)
        module = load_model(model_id).module

        def run(x, module=module, spec=spec):
            return module(x, scale=scale) if spec.any_scale else module(x)

        rows[model_id] = evaluate_sr(run, scale, heldout, crop=crop)
        if not spec.any_scale:
            rows[model_id + ENSEMBLE_SUFFIX] = evaluate_sr(lambda x, run=run: self_ensemble(run, x), scale,
                                                           heldout, crop=crop)
    return {"scale": scale, "photos": [p.name for p in heldout], "models": rows}


def markdown_table(table: dict) -> str:
    lines = [f"Held-out photos ({len(table['photos'])}), ×{table['scale']}: Y-PSNR (dB) / SSIM, "
             f"{table['scale']} px shaved", "", "| Model | PSNR | SSIM | gain over bicubic |", "|---|---|---|---|"]
    for key, res in table["models"].items():
        m = res["mean"]
        model_id, ensembled, _ = key.partition(ENSEMBLE_SUFFIX)
        label = f"`{model_id}`" + (" + self-ensemble ×8" if ensembled else "")
        lines.append(f"| {label} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['gain_db']:+.2f} dB |")
    return "\n".join(lines)


def _command(cfg: dict) -> str:
    parts = [f"python -m enhancers.training sr --arch {cfg['arch']} --scale {cfg['scale']} --steps {cfg['steps']}"]
    if cfg.get("minutes"):
        parts.append(f"--minutes {cfg['minutes']:g}")
    if cfg["arch"] != "srcnn":
        parts.append(f"--num-feat {cfg['num_feat']}")
    if cfg["arch"] == "compact":
        parts.append(f"--num-conv {cfg['num_conv']}")
    if cfg.get("batch", 16) != 16:
        parts.append(f"--batch {cfg['batch']}")
    parts.append(f"--lr-patch {cfg['lr_patch']} --lr {cfg['lr']} --eval-every {cfg['eval_every']}")
    if cfg.get("threads", 1) != 1:
        parts.append(f"--threads {cfg['threads']}")
    if cfg.get("init"):
        parts.append(f"--init {cfg['init']}")
    if cfg.get("uniform_photos"):
        parts.append("--uniform-photos")
    if cfg.get("min_patch_std"):
        parts.append(f"--min-patch-std {cfg['min_patch_std']}")
    if list(cfg.get("hr_downscales", [2])) != [2]:
        parts.append("--hr-downscales " + " ".join(f"{d:g}" for d in cfg["hr_downscales"]))
    if cfg.get("run_dir", "runs") != "runs":
        parts.append(f"--run-dir {cfg['run_dir']}")
    parts.append(f"--out {cfg['out_name']}")
    return " ".join(parts)


def stage_summaries(name: str) -> list[dict]:
    """Training summaries of ``weights/<name>.safetensors``, first stage first."""
    return [json.loads(p.read_text()) for d in STAGE_DIRS if (p := d / name / "summary.json").exists()]


def _stage_line(i: int, st: dict, name: str) -> str:
    cfg = st["config"]
    where = st.get("device_name") or f"CPU, {cfg['threads']} thread{'s' if cfg['threads'] > 1 else ''}"
    steps = st.get("steps_done", cfg["steps"])
    line = (f"  {i}. `{_command(cfg)}` ({st['train_seconds'] / 60:.0f} min on {where}: {steps:,} steps of "
            f"{cfg['batch']} × {cfg['lr_patch']}² LR patches)")
    if cfg["out_name"] != name:
        line += f"; its output was copied to `weights/{name}.safetensors`"
    return line


def _architecture(cfg: dict) -> str:
    return {"compact": f"SRVGGNetCompact, num_feat={cfg['num_feat']}, num_conv={cfg['num_conv']}, PReLU",
            "span": f"SPAN, {cfg['num_feat']} channels",
            "srcnn": "SRCNN 9-5-5 (64/32 filters) on Y with a global residual"}[cfg["arch"]]


def write_sr_card(name: str, table: dict) -> Path:
    """Write ``weights/<name>.md`` from the training stages of ``weights/<name>.safetensors`` and a held-out table."""
    stages = stage_summaries(name)
    summary = stages[-1]
    cfg = summary["config"]
    model_id = next(s.id for s in list_specs("sr")
                    if s.source_kind == "bundled" and s.source.filename == f"{name}.safetensors")
    spec = get_spec(model_id)
    size_kb = (WEIGHTS_DIR / f"{name}.safetensors").stat().st_size / 1024
    mine = table["models"][model_id]
    ens = table["models"].get(model_id + ENSEMBLE_SUFFIX)
    curve = "\n".join(f"| {i + 1} | {c['step']} | {c['elapsed_s']} | {c['psnr']:.2f} | {c['gain_db']:+.2f} |"
                      for i, st in enumerate(stages) for c in st["curve"])
    commands = "\n".join(_stage_line(i + 1, st, name) for i, st in enumerate(stages))
    downs = sorted({d for st in stages for d in st["config"].get("hr_downscales", [2])} - {2})
    extra_hr = (" (training also used ↓" + ", ↓".join(f"{d:g}" for d in downs) + " versions of each photo: "
                "denser detail per patch)") if downs else ""
    ens_photos = {r["photo"]: r["psnr"] for r in ens["photos"]} if ens else {}
    per_photo = "\n".join(
        f"| {r['photo']} | {r['bicubic_psnr']:.2f} | {r['psnr']:.2f} | {r['psnr'] - r['bicubic_psnr']:+.2f} |"
        + (f" {ens_photos[r['photo']]:.2f} | {ens_photos[r['photo']] - r['bicubic_psnr']:+.2f} |" if ens else "")
        for r in mine["photos"])
    ens_head = " Self-ensemble PSNR | Gain |" if ens else ""
    ens_rule = "---|---|" if ens else ""
    m = mine["mean"]
    result = f"One pass: **{m['psnr']:.2f} dB / {m['ssim']:.4f}**, {m['gain_db']:+.2f} dB over bicubic."
    if ens:
        e = ens["mean"]
        result += (f" Self-ensemble of 8 passes (flips and rotations, Lim et al. 2017): **{e['psnr']:.2f} dB / "
                   f"{e['ssim']:.4f}**, {e['gain_db']:+.2f} dB, for 8× the time"
                   + (" — this model's default." if spec.self_ensemble else " (off by default; `--self-ensemble`)."))
    text = f"""# {spec.title} — `{model_id}`

- **File**: `weights/{name}.safetensors` ({size_kb:.0f} KB, {summary['params']:,} parameters)
- **Architecture**: {cfg['arch']} ({_architecture(cfg)}), ×{cfg['scale']}; loads with {'spandrel' if spec.arch == 'spandrel' else 'enhancers.archs.srcnn'}
- **Paper**: {spec.paper}
- **License**: MIT (weights trained by this project)
- **Training data**: {CORPUS_LICENSES}. Held-out photos are never trained on.
- **Training** (seed {cfg['seed']}): L1 loss, Adam with cosine decay, LR patches with flips and 90° rotations.
  Each stage after the first starts from the weights of the one before. Stages:
{commands}
- **Degradation**: HR = photo ↓2 Lanczos{extra_hr}; LR = `HR.resize((W//{cfg['scale']}, H//{cfg['scale']}), BICUBIC)`.

## Held-out quality

{markdown_table(table)}

Per photo (this model):

| Photo | Bicubic PSNR | PSNR | Gain |{ens_head}
|---|---|---|---|{ens_rule}
{per_photo}

{result}

## Training curve (3 held-out photos, 256 px crops)

| Stage | Step | Seconds | PSNR | Gain over bicubic |
|---|---|---|---|---|
{curve}

## Limits

Trained only on clean bicubic downscaling: it sharpens what bicubic blurred, but
does not remove noise, blur or JPEG artifacts (use a Real-ESRGAN model for those).
"""
    out = WEIGHTS_DIR / f"{name}.md"
    out.write_text(append_section(text, existing_section(out, CPU_PRECISION_HEADING)))
    return out
