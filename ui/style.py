"""The "Style transfer" tab: a streamed Gatys optimisation with its loss curve, and fast feed-forward styles."""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
import torch

from enhancers import imageio, style
from enhancers.registry import get_spec
from ui.cancel import CancelToken, in_worker
from ui.common import (EXAMPLES_DIR, MODEL_EVENTS, add_examples, before_after_slider, describe_model, gpu,
                       model_choices, model_status, photo_input, png_output, result_file, run_button, save_before_after,
                       short_name, user_errors)

STYLES_DIR = EXAMPLES_DIR / "styles"
NOTES = """### How it works

**Content** is what a CNN sees deep inside: the feature maps at one layer, compared position by position.
**Style** is texture: for each layer, the **Gram matrix** G = F·Fᵀ / (C·H·W) of its C feature maps
(H×W positions each) says how often two filters fire *together*, averaged over the whole picture. Positions
are summed out, so a Gram matrix keeps colours, strokes and patterns but forgets where things are; matching
Gram matrices at several layers copies texture at several scales. **Total variation (TV)** is the squared
difference between neighbouring pixels: penalising it smooths away the high-frequency speckle that the
optimiser otherwise leaves behind.

**Gatys et al. (2016)** start from the photo (or noise) and change the *pixels* to lower
content weight × content loss + style weight × style loss + TV weight × TV loss, one optimiser step at a time:
watch the curve fall and the picture change. Here every loss is *relative* (squared error divided by the
target's squared size), so the same weights suit every feature network. **Fast styles** (Johnson et al. 2016)
train a network once per style to produce such an image in a single pass. The bundled ones were trained here with
Johnson et al.'s loss through the same ImageNet VGG16 (content at relu2_2, Gram matrices at relu1_2–relu4_3). They
enlarge by nearest-neighbour ×2 and a 3×3 convolution instead of the paper's stride-2 transposed convolution:
that one gives alternate output pixels different numbers of inputs, a checkerboard that the VGG16 Gram matrices
rewarded and training amplified (Odena et al. 2016, "Deconvolution and checkerboard artifacts").

**Feature networks.** The paper uses VGG19 trained on ImageNet (*VGG19 ImageNet (Hub)*, a 575 MB download). The
offline default is its sibling VGG16 with torchvision's ImageNet weights (Gram matrices at relu1_2, relu2_2,
relu3_3, relu4_3, content at relu3_3), the network Johnson et al. use for their losses. Two classroom baselines
show why training matters: a VGG19 with *random* (fixed-seed) weights, and the earlier offline hybrid of
MobileNetV2 (ImageNet) plus that random VGG19.

**Why a trained network's Gram matrices capture texture.** A Gram matrix only records which filters fire
together, so it can describe no more than the filters can see. ImageNet training turns VGG's filters into
detectors of edges at each orientation, then corners, stripes, blobs and repeated motifs, each layer combining
the last; each fires strongly in some places and not at all in others, so *how they co-vary* over the picture
is a rich texture description, and matching it redraws strokes and motifs at several scales. A random
network's deeper units are random sums of many inputs, which average local structure away: every unit
responds much the same way everywhere, roughly following the local colour and brightness, so its Gram matrix
is close to the outer product of the *mean* activations, a summary of the palette. Measured on two style
images and a photo, that mean term is 84–88 % of the Gram matrix (squared Frobenius norm) at relu2_1–relu4_1 of
the random VGG19, against 48–60 % at relu2_2–relu4_3 of the ImageNet VGG16: matching random Gram matrices
mostly recolours, and the random "content" features do not pin the structure down either.
"""


def _style_layer_choices(features: str) -> tuple[list[str], list[str], list[str]]:
    layers = list(style.available_layers(features))
    d = style.DEFAULT_LAYERS[features]
    return layers, list(d.style), list(d.content)


def describe_features(features: str = style.DEFAULT_FEATURES) -> str:
    """Which feature network the Gatys run uses, its default layers, source and license."""
    spec = get_spec(features)
    d = style.DEFAULT_LAYERS[features]
    status = model_status(spec) if spec.source_kind == "hub" else "works offline"
    return (f"**Feature network: {spec.title}** — {status}.  \n{spec.description}  \n"
            f"Default style layers: {', '.join(d.style)}; content: {', '.join(d.content)}.  \n"
            f"[Paper / model card]({spec.paper}) · License: {spec.license}")


def on_style_features_change(features: str) -> tuple[gr.CheckboxGroup, gr.CheckboxGroup, str]:
    layers, st, ct = _style_layer_choices(features)
    return (gr.CheckboxGroup(choices=layers, value=st), gr.CheckboxGroup(choices=layers, value=ct),
            describe_features(features))


def _loss_frame(history: style.LossHistory, weights: tuple[float, float, float]):
    import pandas as pd

    wc, ws, wt = weights
    scale = {"content": wc, "style": ws, "tv": wt, "total": 1.0}
    rows = [(step, f"{name} (weighted)" if name != "total" else "total", value * scale[name])
            for step, name, value in history.rows()]
    return pd.DataFrame(rows, columns=["step", "loss", "value"])


def _open_style_inputs(content_path: str | None, style_path: str | None) -> tuple[imageio.LoadedImage, torch.Tensor]:
    if not content_path:
        raise gr.Error("Upload a content photo first.")
    if not style_path:
        raise gr.Error("Upload a style image, or pick one of the bundled styles below it.")
    with user_errors():
        return imageio.open_image(content_path), imageio.open_image(style_path).rgb


def run_style(content_path: str | None, style_path: str | None, features: str = style.DEFAULT_FEATURES,
              steps: int = 100, size: int = 256, optimizer: str = "lbfgs", init: str = "content",
              content_weight: float = 1.0, style_weight: float = 10.0, tv_weight: float = 1.0,
              style_layers: list[str] | None = None, content_layers: list[str] | None = None,
              preserve_colors: bool = False, every: int = 10):
    """Gatys style transfer, streamed: yields (before, after) PNGs, the loss curve, a status line, the PNG.

    Every ``every`` steps the current image and the losses are yielded; the download
    is the final image at the working size (None until the run ends). The optimisation runs in a worker
    thread (:func:`ui.cancel.in_worker`) that stops at the next step once Stop is pressed or the page closes;
    in between, every :data:`~ui.cancel.HEARTBEAT_S`, only the status line is updated.
    """
    content, style_rgb = _open_style_inputs(content_path, style_path)
    with user_errors("Try a smaller working size."):
        cfg = style.GatysConfig(
            steps=int(steps), size=int(size), optimizer=optimizer, init=init, content_weight=float(content_weight),
            style_weight=float(style_weight), tv_weight=float(tv_weight),
            style_layers=tuple(style_layers) if style_layers is not None else None,
            content_layers=tuple(content_layers) if content_layers is not None else None,
            preserve_colors=bool(preserve_colors), every=max(1, int(every)), features=features)
        cfg.validate()
        layers = cfg.layers()
        stem = Path(content_path).stem
        before = None
        title = get_spec(features).title
        steps_done = [0]

        def work(token: CancelToken):
            def should_stop() -> bool:
                token.check()  # raises Cancelled, which ends the worker; Stop itself needs no final update
                steps_done[0] += 1
                return False

            yield from style.gatys(content.rgb, style_rgb, cfg, should_stop=should_stop)

        for update in in_worker(work):
            if update is None:
                yield (gr.skip(), gr.skip(), f"**Step {steps_done[0]}/{cfg.steps}** · {title} (`{features}`) …",
                       gr.skip())
                continue
            if before is None:
                before = png_output(stem, "_before", style.resize_long_side(content.rgb, cfg.size))
            current = png_output(stem, f"_style_step{update.step}", update.image)
            h = update.history
            status = (f"**Step {update.step}/{cfg.steps}** · {update.seconds:.1f} s · **Feature network** {title} "
                      f"(`{features}`) · style layers {', '.join(layers.style) or 'none'} · content "
                      f"{', '.join(layers.content) or 'none'} · losses: content {h.content[-1]:.3f}, style "
                      f"{h.style[-1]:.3f}, TV {h.tv[-1]:.4f}, total {h.total[-1]:.3f}"
                      + (" · colours preserved" if cfg.preserve_colors else "")
                      + (" · **done**" if update.done else ""))
            yield ((before, current), _loss_frame(h, (cfg.content_weight, cfg.style_weight, cfg.tv_weight)),
                   status, current if update.done else None)


def run_fast_style(content_path: str | None, model_id: str = style.DEFAULT_FAST, strength: float = 1.0
                   ) -> tuple[tuple[str, str], str, str]:
    """Fast feed-forward style at full resolution: (before, after) PNGs, the full-size PNG, a stats line."""
    if not content_path:
        raise gr.Error("Upload a content photo first.")
    started = time.perf_counter()
    with user_errors("Try a smaller photo."):
        image = imageio.open_image(content_path)
        out = style.fast_stylize(image.rgb, model_id, float(strength))
    before, full = save_before_after(Path(content_path).stem, f"_{short_name(model_id)}",
                                     image.with_pixels(out, image.alpha), "_before", image.rgb)
    stats = (f"**Size** {image.width}×{image.height} (full resolution, untiled) · **Time** "
             f"{time.perf_counter() - started:.2f} s · **Model** {model_id} · **Strength** {float(strength):.2f}"
             + (" · alpha kept" if image.alpha is not None else ""))
    return (before, full), full, stats


def build() -> None:
    """Add the "Style transfer" tab to the current Blocks."""
    layers, default_style, default_content = _style_layer_choices(style.DEFAULT_FEATURES)
    with gr.Tab("Style transfer", id="style"):
        gr.Markdown("Paint a photo in the style of an image: watch the **Gatys** optimisation converge, or apply "
                    "a trained **fast style** network in one pass.")
        with gr.Row():
            content_in = photo_input("Content photo", "style-content")
            style_in = photo_input("Style image", "style-style")
        with gr.Row():
            add_examples(content_in, "Example photos (public domain / CC0)")
            add_examples(style_in, "Bundled style images (GPL-2+ / CC-BY-SA-3.0, see examples/styles/LICENSE.md)",
                         STYLES_DIR, "*.jpg")
        with gr.Row():
            with gr.Column(scale=1):
                gr.Markdown("#### Gatys optimisation")
                features = gr.Dropdown(model_choices(style.feature_networks()),
                                       value=style.DEFAULT_FEATURES, label="Feature network",
                                       elem_id="style-features")
                features_card = gr.Markdown(describe_features(), elem_id="style-features-card")
                with gr.Row():
                    steps = gr.Slider(1, 500, value=100, step=1, label="Steps", elem_id="style-steps")
                    size = gr.Slider(style.MIN_SIZE, 512, value=256, step=32, label="Working size (longer side, px)",
                                     elem_id="style-size")
                with gr.Row():
                    optimizer = gr.Radio([("L-BFGS", "lbfgs"), ("Adam", "adam")], value="lbfgs", label="Optimiser")
                    init = gr.Radio([("Content photo", "content"), ("Noise", "noise")], value="content",
                                    label="Start from")
                with gr.Row():
                    content_w = gr.Number(1.0, label="Content weight", minimum=0)
                    style_w = gr.Number(10.0, label="Style weight", minimum=0)
                    tv_w = gr.Number(1.0, label="TV weight", minimum=0)
                preserve = gr.Checkbox(False, label="Preserve colours (transfer luminance only)",
                                       elem_id="style-preserve")
                with gr.Accordion("Layers and streaming", open=False):
                    style_layers = gr.CheckboxGroup(layers, value=default_style, label="Style (Gram) layers")
                    content_layers = gr.CheckboxGroup(layers, value=default_content, label="Content layers")
                    every = gr.Slider(1, 50, value=10, step=1, label="Show the image every N steps")
                with gr.Row():
                    run = run_button("Run Gatys", "style-run")
                    stop = gr.Button("Stop", variant="stop", elem_id="style-stop")
                gr.Markdown("#### Fast style (one pass, full resolution)")
                fast_model = gr.Dropdown(model_choices(style.fast_models()),
                                         value=style.DEFAULT_FAST, label="Style network", elem_id="style-fast-model")
                fast_card = gr.Markdown(describe_model(style.DEFAULT_FAST), elem_id="style-fast-card")
                strength = gr.Slider(0, 1, value=1.0, step=0.05, label="Style strength (blend with the photo)",
                                     elem_id="style-strength")
                fast_run = gr.Button("Apply fast style", variant="primary", elem_id="style-fast-run")
            with gr.Column(scale=2):
                slider = before_after_slider("Before · After", "style-slider")
                status = gr.Markdown(elem_id="style-status")
                curve = gr.LinePlot(x="step", y="value", color="loss", label="Loss (weighted terms and total)",
                                    x_title="step", y_title="loss", elem_id="style-curve")
                download = result_file("style-download", "Result PNG")
        gr.Markdown(NOTES, elem_id="style-notes")

        features.change(on_style_features_change, features, [style_layers, content_layers, features_card],
                        api_name="style_layers_for_features", queue=False)
        fast_model.change(describe_model, fast_model, fast_card, api_name="fast_style_model_card", queue=False)
        gatys_event = run.click(run_style, [content_in, style_in, features, steps, size, optimizer, init, content_w,
                                            style_w, tv_w, style_layers, content_layers, preserve, every],
                                [slider, curve, status, download], api_name="style", **MODEL_EVENTS)
        stop.click(None, None, None, cancels=[gatys_event], api_name="style_stop",
                   api_visibility="private", queue=False)
        fast_run.click(gpu(run_fast_style), [content_in, fast_model, strength], [slider, download, status],
                       api_name="fast_style", **MODEL_EVENTS)
