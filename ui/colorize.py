"""The "Colorization" tab: colour a black-and-white photo, with its L*a*b* channels and classroom notes."""

from __future__ import annotations

import math
import time
from pathlib import Path

import gradio as gr
import torch
from PIL import Image

from enhancers import color_metrics, colorize, imageio
from enhancers.registry import get_spec
from ui.common import (DEFAULTS, MODEL_EVENTS, add_examples, before_after_slider, gpu, kept_note, model_choices,
                       model_dropdown, model_status, open_upload, photo_input, result_file, run_button,
                       save_before_after, short_name, user_errors)

HOW_IT_WORKS = """### How it works

**What the U-Net does.** The photo is reduced to its gray (NTSC: Y = 0.299·R + 0.587·G + 0.114·B, in [0, 1]).
The encoder (MobileNetV2, started from ImageNet weights) shrinks it step by step to a 1/32-size map of *what* is
in the picture (sky, leaves, skin); the decoder grows it back, and at each size a **skip connection** hands it
the encoder's sharper map of the same size, so colours land on the right edges. The output is L\\*a\\*b\\*
scaled to [−1, 1].

**Why L\\*a\\*b\\*.** L\\* is lightness, which the gray photo already gives; a\\* (green ↔ red) and b\\*
(blue ↔ yellow) hold all the colour. So the network only has to guess two smooth channels, and the result
keeps your photo's own L\\* at full resolution: the colours are predicted at 256 px on the short side, upsampled,
and laid over every original detail. The classroom view below shows the three channels of the result.

**Why the bounded output.** The last layer passes through f(x) = 2/(1+e^−x) − 1, which maps any number into
(−1, 1): the prediction can never leave the valid L\\*a\\*b\\* range (a\\*, b\\* ∈ [−110, 110] covers sRGB),
and its gradient stays smooth near the edges instead of being cut by a clip.

**Why colours can look dull.** A gray car can be red or blue; a loss that averages over such possibilities
predicts something in between, a brownish "sepia". Plain L1 predicts the median instead, but still prefers a
safe, pale guess: our U-Net's model spec multiplies its a\\* and b\\* by a fixed *chroma gain* of 1.3, chosen on
its training photos so that their colourfulness comes back to about two thirds of the truth's. DDColor uses learned
colour queries. The saturation slider scales a\\* and b\\* after the fact.

**Colour as classes (`color/classes`).** Zhang et al. (2016) turn the guess into a multiple-choice question:
for every pixel the network gives a probability to each of 257 colours (squares of the a\\*b\\* plane). The
average of those probabilities is as muted as a regression; the **annealed mean** first sharpens them (each raised
to the power 1/T, then rescaled to sum to 1): T = 1 is the plain average, a small T picks the single most likely
colour, vivid but patchy where two colours are nearly as likely. Most pixels in photos are grayish, so training
also multiplies the loss of rare colours (*class rebalancing*); otherwise the network learns that gray is safe.
Bolder colour is not always the right colour: compare the two models' numbers on your own colour photos.

**How our U-Net was trained: NoGAN.** DeOldify's recipe (Antic 2019). (1) The U-Net learns with L1 on a\\*b\\*
plus a *feature loss*: how differently an ImageNet VGG16 network "sees" the true photo and ours, which rewards
plausible colour and texture rather than the average. (2) A *critic* network learns to tell real colour photos
from the U-Net's. (3) A short GAN phase: the U-Net also tries to fool the critic, and it is stopped as soon as
the critic's loss shows it can no longer tell them apart, which comes early; longer GAN training brings artefacts.

**Test-time ensemble.** The model also colours the mirror image, and both at three working sizes. Averaging the
six a\\*b\\* guesses would cancel where they disagree in hue and mute the colour, so the result takes the hue of
their average and their median chroma (colour strength): agreement picks the hue, the guesses keep their
saturation.

**Vivid or accurate: a trade-off.** When you upload a colour photo, the line under the result compares the
colorization with your original. RGB PSNR rewards the cautious guess (a bold wrong colour costs more than a pale
one); colourfulness rewards the bold one. Blau & Michaeli (2018, "The perception–distortion tradeoff") proved
that past a point no method can improve both at once. *Balanced hue accuracy* asks whether the colours are the
right ones: of your original's clearly coloured pixels (a\\*b\\* chroma above 15), grouped into six hue families
of 60°, the share whose predicted hue is within 45° of the true one (a grayish guess counts as wrong), averaged
over the families, so a sky and a small red coat weigh alike and a safe brown everywhere scores low. On the 72
photos we held out of training, the default scores +0.68 dB over the gray image at 0.66 of the originals'
colourfulness, with 57 % hue accuracy; `color/classes` sits further along the curve (−1.96 dB at 1.26, and the
best hue accuracy, 65 %). Every model and ensemble we tried lands on that curve (the model cards list them).
Move the saturation slider on one of your own colour photos and watch the numbers change.
"""
DDCOLOR_CAVEAT = ("**License caveat (DDColor):** the DDColor weights on the Hub are Apache-2.0, but the architecture "
                  "code comes from `spandrel_extra_arches`, whose architectures are for private and non-commercial "
                  "open-source use. Check the licenses before any commercial use.")
STATS_MAX_PIXELS = 4_000_000


def hue_accuracy_text(out: torch.Tensor, original: torch.Tensor) -> str:
    """The stats line's balanced hue accuracy of a colorization against the uploaded colour original, both RGB
    float32 ``(1, 3, H, W)`` in [0, 1] (:func:`enhancers.color_metrics.balanced_hue_accuracy`): "Balanced hue
    accuracy **62 %** (the gray image: 0 %)", or a note when the original has no pixel of chroma above 15 (no
    hue to score)."""
    acc = color_metrics.balanced_hue_accuracy(out, original)
    if math.isnan(acc):
        return "Balanced hue accuracy: not scored (your original has no strongly coloured pixel)"
    return f"Balanced hue accuracy **{100 * acc:.0f} %** (the gray image: 0 %)"


def describe_color_model(model_id: str = colorize.DEFAULT_MODEL) -> str:
    """Classroom card for a colorization model: what it does, its status, paper and license."""
    spec = get_spec(model_id)

    def md(t: str) -> str:  # L*a*b* would otherwise turn into emphasis
        return t.replace("*", "\\*")

    text = (f"**{md(spec.title)}** — {model_status(spec)}.  \n{md(spec.description)}  \n"
            f"[Paper / model card]({spec.paper}) · License: {spec.license}")
    return text + ("\n\n" + DDCOLOR_CAVEAT if spec.arch == "ddcolor" else "")


def temperature_control(model_id: str) -> dict:
    """The temperature slider is shown for colour-class models only (:func:`enhancers.colorize.takes_temperature`)."""
    return gr.update(visible=colorize.takes_temperature(model_id))


def run_colorize(image_path: str | None, model_id: str = DEFAULTS["color"], saturation: float = 1.0,
                 work_size: int = colorize.WORK_SIZE, ensemble: bool = True,
                 temperature: float = colorize.DEFAULT_TEMPERATURE,
                 progress: gr.Progress = gr.Progress(track_tqdm=True)
                 ) -> tuple[tuple[str, str], str, str, Image.Image, Image.Image, Image.Image]:
    """Colorize one photo. Returns the (gray, colorized) PNG pair, the full-resolution PNG, a stats line,
    and the result's L*, a* and b* channels as pictures (at most 512 px). ``temperature`` applies to
    colour-class models only."""
    uses_t = colorize.takes_temperature(model_id)
    started = time.perf_counter()
    image = open_upload(image_path)
    progress(0, desc="Loading model")

    def on_step(done: int, total: int) -> None:
        desc = ("Done" if done == total else "Applying them to full resolution" if done == total - 1
                else f"Predicting colours, pass {done + 1} of {total - 1}")
        progress(done / total, desc=desc)

    with user_errors("Try a smaller photo."):
        result = colorize.colorize_image(image, model_id, float(saturation), int(work_size), on_step,
                                         ensemble=bool(ensemble), temperature=float(temperature))
        views = colorize.channel_views(result.image.rgb)
    before, full = save_before_after(Path(image_path).stem, f"_color_{short_name(model_id)}", result.image, "_gray",
                                     result.gray, image.alpha)
    elapsed = time.perf_counter() - started
    stats = (f"**Input** {image.width}×{image.height} · **Time** {elapsed:.2f} s · **Model** {model_id} · "
             f"**Saturation** {float(saturation):.2f}" + (f" · **T** {float(temperature):.2f}" if uses_t else "")
             + (" · ensemble of 6 passes" if ensemble else "")
             + kept_note(image))
    if result.was_colour:
        stats += "  \nYour photo had colour: it was converted to gray (NTSC) first, as an old photo would be."
        if image.width * image.height <= STATS_MAX_PIXELS:
            out = result.image.rgb.float() / 255
            gray = result.gray.float() / 255
            cf_out, cf_orig = (float(color_metrics.colourfulness(t)[0]) for t in (out, image.rgb))
            stats += (f" Against your original: RGB PSNR **{color_metrics.rgb_psnr(out, image.rgb):.2f} dB** "
                      f"(the gray image: {color_metrics.rgb_psnr(gray, image.rgb):.2f} dB) · "
                      f"{hue_accuracy_text(out, image.rgb)} · colourfulness "
                      f"**{cf_out / max(cf_orig, 1e-6):.0%}** of the original's.")
    return ((before, full), full, stats,
            *(imageio.tensor_to_pil(v) for v in views))


def build() -> None:
    """Add the "Colorization" tab to the current Blocks: upload, model, saturation, before/after slider,
    L*a*b* channels, notes."""
    with gr.Tab("Colorization", id="color"):
        gr.Markdown("Bring a black-and-white photo back in colour. Colour photos are converted to gray first "
                    "(NTSC), so you can compare the result with the original. The bundled U-Net works offline; "
                    "DDColor downloads from the Hugging Face Hub on first use.")
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_input("Black-and-white photo", "color-input")
                model = model_dropdown(model_choices(colorize.model_ids()), DEFAULTS["color"], "color-model")
                saturation = gr.Slider(0, colorize.MAX_SATURATION, value=1.0, step=0.05, label="Saturation",
                                       info="Multiplies a∗ and b∗ (the colour channels): 0 gives the gray photo "
                                            "back, 1 the prediction.",
                                       elem_id="color-saturation")
                with gr.Accordion("Advanced", open=False, elem_id="color-advanced"):
                    work = gr.Slider(128, 1024, value=colorize.WORK_SIZE, step=32,
                                     label="Working size (short side the model sees, px)",
                                     info="The colours are predicted at this size and laid over the "
                                          "full-resolution lightness.", elem_id="color-work-size")
                    ensemble = gr.Checkbox(True, label="Test-time ensemble (6 passes)",
                                           info="Combines the colours predicted for the photo and its mirror "
                                                "image at three working sizes: the hue of their average with "
                                                "their median chroma, so disagreement does not mute the colour.",
                                           elem_id="color-ensemble")
                    temperature = gr.Slider(*colorize.TEMPERATURE_RANGE, value=colorize.DEFAULT_TEMPERATURE,
                                            step=0.02, label="Temperature T (annealed mean)",
                                            info="Colour-class models predict a probability for each colour. "
                                                 "T = 1 averages them (muted); lower T leans to the most likely "
                                                 "colour (vivid, can be patchy). Zhang et al. use 0.38.",
                                            visible=colorize.takes_temperature(DEFAULTS["color"]),
                                            elem_id="color-temperature")
                run = run_button("Colorize", "color-run")
            with gr.Column(scale=2):
                slider = before_after_slider("Before (gray) · After", "color-slider")
                stats = gr.Markdown(elem_id="color-stats")
                download = result_file("color-download")
                card = gr.Markdown(describe_color_model(DEFAULTS["color"]), elem_id="color-card")
        gr.Markdown("### Classroom view: the result's L\\*, a\\* and b\\* channels\nL\\* is your photo's own "
                    "lightness; a\\* and b\\* are the predicted colour, shown at a fixed lightness "
                    "(gray means 0).")
        with gr.Row():
            l_img = gr.Image(label="L* (lightness)", type="pil", format="png", interactive=False,
                             elem_id="color-l")
            a_img = gr.Image(label="a* (green ↔ red)", type="pil", format="png", interactive=False,
                             elem_id="color-a")
            b_img = gr.Image(label="b* (blue ↔ yellow)", type="pil", format="png", interactive=False,
                             elem_id="color-b")
        gr.Markdown(HOW_IT_WORKS + "\n" + DDCOLOR_CAVEAT, elem_id="color-notes")
        add_examples(photo)
        model.change(describe_color_model, model, card, api_name="colorize_model_card", queue=False)
        model.change(temperature_control, model, temperature, api_name="colorize_temperature_control", queue=False)
        run.click(gpu(run_colorize), [photo, model, saturation, work, ensemble, temperature],
                  [slider, download, stats, l_img, a_img, b_img], api_name="colorize", **MODEL_EVENTS)
