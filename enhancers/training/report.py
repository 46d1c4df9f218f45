"""Side-by-side held-out evaluation of registered SR models, and model cards for bundled weights."""

from __future__ import annotations

import json
from pathlib import Path

from ..loader import load_model
from ..registry import get_spec, list_specs
from ..specs import WEIGHTS_DIR
from . import data
from .evaluate import evaluate_sr

CORPUS_LICENSES = ("Debian `mate-backgrounds` 1.26.0 (`nature/`): GPL-2+; Debian `lomiri-wallpapers-16.04` "
                   "20.04.0: CC-BY-4.0, CC-BY-SA-4.0 or CC0-1.0 per file (see the packages' copyright files); "
                   "scikit-image sample photos (public domain / CC0 / per its data README)")


def sr_table(scale: int, model_ids: list[str] | None = None, crop: int = 512) -> dict:
    """Mean Y-PSNR/SSIM on all held-out photos for each local SR model usable at ``scale``."""
    ids = model_ids or [s.id for s in list_specs("sr") if s.source_kind != "hub" and (s.any_scale or s.scale == scale)]
    heldout = data.split().heldout
    rows = {}
    for model_id in ids:
        spec = get_spec(model_id)
        module = load_model(model_id).module

        def run(x, module=module, spec=spec):
            return module(x, scale=scale) if spec.any_scale else module(x)

        rows[model_id] = evaluate_sr(run, scale, heldout, crop=crop)
    return {"scale": scale, "photos": [p.name for p in heldout], "models": rows}


def markdown_table(table: dict) -> str:
    lines = [f"Held-out photos ({len(table['photos'])}), ×{table['scale']}: Y-PSNR (dB) / SSIM, "
             f"{table['scale']} px shaved", "", "| Model | PSNR | SSIM | gain over bicubic |", "|---|---|---|---|"]
    for model_id, res in table["models"].items():
        m = res["mean"]
        lines.append(f"| `{model_id}` | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['gain_db']:+.2f} dB |")
    return "\n".join(lines)


def _command(cfg: dict) -> str:
    parts = [f"python -m enhancers.training sr --arch {cfg['arch']} --scale {cfg['scale']} --steps {cfg['steps']}"]
    if cfg["arch"] == "compact":
        parts.append(f"--num-feat {cfg['num_feat']} --num-conv {cfg['num_conv']}")
    parts.append(f"--lr-patch {cfg['lr_patch']} --lr {cfg['lr']} --eval-every {cfg['eval_every']}")
    if cfg.get("init"):
        parts.append(f"--init {cfg['init']}")
    if cfg.get("uniform_photos"):
        parts.append("--uniform-photos")
    if cfg.get("min_patch_std"):
        parts.append(f"--min-patch-std {cfg['min_patch_std']}")
    if list(cfg.get("hr_downscales", [2])) != [2]:
        parts.append("--hr-downscales " + " ".join(map(str, cfg["hr_downscales"])))
    if cfg.get("run_dir", "runs") != "runs":
        parts.append(f"--run-dir {cfg['run_dir']}")
    parts.append(f"--out {cfg['out_name']}")
    return " ".join(parts)


def write_sr_card(run_dir: Path, table: dict) -> Path:
    """Write ``weights/<name>.md`` from a training run's summary and a held-out table."""
    summary = json.loads((run_dir / "summary.json").read_text())
    cfg = summary["config"]
    name = cfg["out_name"]
    model_id = next(s.id for s in list_specs("sr")
                    if s.source_kind == "bundled" and s.source.filename == f"{name}.safetensors")
    spec = get_spec(model_id)
    size_kb = (WEIGHTS_DIR / f"{name}.safetensors").stat().st_size / 1024
    mine = table["models"][model_id]["mean"]
    stages = [summary]
    if cfg.get("init"):
        stages.insert(0, json.loads((run_dir.parents[1] / name / "summary.json").read_text()))
    curve = "\n".join(f"| {i + 1} | {c['step']} | {c['elapsed_s']} | {c['psnr']:.2f} | {c['gain_db']:+.2f} |"
                      for i, st in enumerate(stages) for c in st["curve"])
    commands = "\n".join(f"  {i + 1}. `{_command(st['config'])}` ({st['train_seconds'] / 60:.0f} min)"
                         for i, st in enumerate(stages))
    downs = sorted({d for st in stages for d in st["config"].get("hr_downscales", [2])} - {2})
    extra_hr = (" (training also used ↓" + ", ↓".join(map(str, downs)) + " versions of each photo: denser detail per "
                "patch)") if downs else ""
    per_photo = "\n".join(f"| {r['photo']} | {r['bicubic_psnr']:.2f} | {r['psnr']:.2f} | {r['psnr'] - r['bicubic_psnr']:+.2f} |"
                          for r in table["models"][model_id]["photos"])
    text = f"""# {spec.title} — `{model_id}`

- **File**: `weights/{name}.safetensors` ({size_kb:.0f} KB, {summary['params']:,} parameters)
- **Architecture**: {cfg['arch']} ({'SRVGGNetCompact, num_feat=%d, num_conv=%d, PReLU' % (cfg['num_feat'], cfg['num_conv']) if cfg['arch'] == 'compact' else 'SRCNN 9-5-5 (64/32 filters) on Y with a global residual'}), ×{cfg['scale']}; loads with {'spandrel' if spec.arch == 'spandrel' else 'enhancers.archs.srcnn'}
- **Paper**: {spec.paper}
- **License**: MIT (weights trained by this project)
- **Training data**: {CORPUS_LICENSES}. Held-out photos are never trained on.
- **Training** (CPU, {cfg['threads']} thread, seed {cfg['seed']}): L1 loss, Adam with cosine decay, batch {cfg['batch']} of
  {cfg['lr_patch']}² LR patches with flips and 90° rotations. Stages:
{commands}
- **Degradation**: HR = photo ↓2 Lanczos{extra_hr}; LR = `HR.resize((W//{cfg['scale']}, H//{cfg['scale']}), BICUBIC)`.

## Held-out quality

{markdown_table(table)}

Per photo (this model):

| Photo | Bicubic PSNR | PSNR | Gain |
|---|---|---|---|
{per_photo}

This model: **{mine['psnr']:.2f} dB / {mine['ssim']:.4f}**, {mine['gain_db']:+.2f} dB over bicubic.

## Training curve (3 held-out photos, 256 px crops)

| Stage | Step | Seconds | PSNR | Gain over bicubic |
|---|---|---|---|---|
{curve}

## Limits

Trained only on clean bicubic downscaling: it sharpens what bicubic blurred, but
does not remove noise, blur or JPEG artifacts (use a Real-ESRGAN model for those).
"""
    out = WEIGHTS_DIR / f"{name}.md"
    out.write_text(text)
    return out
