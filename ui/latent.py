"""The "Latent explorer" tab: VAE/AE latent maps of MNIST digits, click-to-decode, sketch encoding, walks and
samples."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import gradio as gr
import torch
from PIL import Image

from enhancers import imageio, latent, latent_plot
from enhancers.errors import InvalidInputError
from ui.common import MODEL_EVENTS, output_path, photo_input, run_button, user_errors

T = TypeVar("T")
AUTOENCODERS = [("Variational autoencoder (VAE)", latent.VAE_ID), ("Plain autoencoder (AE)", latent.AE_ID)]
DIGIT_PX = 224
# Gradio's sketchpad starts with no tool selected; pick the brush so that drawing works at once.
PICK_BRUSH_JS = """() => {
  const pick = (tries) => {
    const brush = document.querySelector('#latent-sketch button[aria-label="Brush"]');
    if (brush) { if (!brush.classList.contains('highlight')) brush.click(); }
    else if (tries > 0) setTimeout(() => pick(tries - 1), 200);
  };
  setTimeout(() => pick(20), 100);
}"""


def _latent_call(fn: Callable[..., T], *args: object) -> T:
    """Run a library call, turning the library's typed errors into ``gr.Error``."""
    with user_errors():
        return fn(*args)


def _label(digits: torch.Tensor) -> list[str]:
    """Classifier captions like ``"7 (98%)"`` for digits ``(N, 1, 28, 28)``."""
    labels, conf = _latent_call(latent.classify, digits)
    return [f"{int(lab)} ({float(c):.0%})" for lab, c in zip(labels, conf)]


def _digit_from_file(path: str | None, which: str) -> torch.Tensor:
    if not path:
        raise gr.Error(f"Digit {which} is missing: draw, upload or pick a held-out digit first.")
    image = _latent_call(imageio.open_image, path)
    return _latent_call(latent.prepare_drawing, image.rgb, image.alpha)


def _sketch_digit_or_none(sketch: dict | None) -> torch.Tensor | None:
    """The sketchpad's composite (RGBA PIL) → MNIST-style digit ``(1, 1, 28, 28)``, or None when nothing is drawn."""
    composite = (sketch or {}).get("composite")
    if composite is None:
        return None
    image = _latent_call(imageio.open_image, composite)
    try:
        return latent.prepare_drawing(image.rgb, image.alpha)
    except InvalidInputError:
        return None


def _digit_from_sketch(sketch: dict | None) -> torch.Tensor:
    digit = _sketch_digit_or_none(sketch)
    if digit is None:
        raise gr.Error("The sketchpad is empty: draw one digit, large, in the box first.")
    return digit


def latent_view(model_id: str = latent.VAE_ID) -> tuple[Image.Image, Image.Image, str]:
    """Latent map of the held-out digits and the decoded grid over the same square, plus a caption."""
    lmap = _latent_call(latent.latent_map, model_id)
    grid = _latent_call(latent.decoded_grid, model_id)
    q = _latent_call(latent.quality, grid.digits)
    outside = latent_plot.outside_count(lmap)
    unit = "units of the prior N(0, I)" if model_id == latent.VAE_ID else "the AE's own units (no prior)"
    caption = (f"**{len(lmap.labels)} held-out digits** encoded by `{model_id}`; axes in {unit}. "
               f"Grid: {grid.n}×{grid.n} decodes over [−{grid.extent:g}, {grid.extent:g}]²; the classifier "
               f"finds **{q.classes_covered}/10 classes** and reads **{q.confident_fraction:.0%}** of cells with "
               f"confidence ≥ 0.9." + (f" {outside} digits lie outside the square." if outside else "")
               + " Click either picture to decode that point.")
    return latent_plot.render_map(lmap), latent_plot.grid_image(grid.digits), caption


def _decode_at(model_id: str, x: float, y: float) -> tuple[Image.Image, str]:
    digit = _latent_call(latent.decode, x, y, model_id)
    (label,) = _label(digit)
    return (latent_plot.digit_image(digit, DIGIT_PX),
            f"Decoded at **(x, y) = ({x:.2f}, {y:.2f})** by `{model_id}` · classifier reads **{label}**")


def latent_click_map(model_id: str, evt: gr.SelectData) -> tuple[Image.Image, str]:
    """A click on the latent map (``evt.index`` = [x, y] pixel) → the digit decoded there."""
    view = latent_plot.MapView.for_grid(_latent_call(latent.latent_map, model_id).extent)
    x, y = _latent_call(view.to_latent, *evt.index)
    return _decode_at(model_id, x, y)


def latent_click_grid(model_id: str, evt: gr.SelectData) -> tuple[Image.Image, str]:
    """A click on the decoded grid → the digit decoded at that exact (continuous) point."""
    view = latent_plot.MapView.for_grid(_latent_call(latent.latent_map, model_id).extent, on_map=False)
    x, y = _latent_call(view.to_latent, *evt.index)
    return _decode_at(model_id, x, y)


def latent_decode(x: float, y: float) -> Image.Image:
    """Decode the 2-D VAE latent ``(x, y)`` (units of the prior N(0, I)) → the digit, 224×224 PNG."""
    digit = _latent_call(latent.decode, x, y, latent.VAE_ID)
    return latent_plot.digit_image(digit, DIGIT_PX)


def latent_encode_sketch(sketch: dict | None, model_id: str = latent.VAE_ID
                         ) -> tuple[Image.Image, Image.Image, Image.Image, str]:
    """Encode a drawn digit: its 28×28 MNIST-style input, its reconstruction, the map with a marker, a caption."""
    digit = _digit_from_sketch(sketch)
    recon, (x, y) = _latent_call(latent.reconstruct, digit, model_id)
    drawn, rebuilt = _label(torch.cat([digit, recon]))
    lmap = _latent_call(latent.latent_map, model_id)
    caption = (f"Your digit (read as **{drawn}**) encodes to **(x, y) = ({x:.2f}, {y:.2f})** (black marker); "
               f"the decoder rebuilds it as **{rebuilt}**.")
    return (latent_plot.digit_image(digit, DIGIT_PX), latent_plot.digit_image(recon, DIGIT_PX),
            latent_plot.render_map(lmap, marker=(x, y)), caption)


def _on_sketch_change(sketch: dict | None, model_id: str) -> tuple:
    """Live update while drawing; an empty or cleared canvas leaves the outputs as they are."""
    if _sketch_digit_or_none(sketch) is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return latent_encode_sketch(sketch, model_id)


def latent_sketch_as_digit(sketch: dict | None) -> str:
    """The drawn digit, preprocessed to 28×28 as MNIST, saved as a PNG for the interpolation inputs."""
    digit = _digit_from_sketch(sketch)
    path = output_path("drawn", "")
    latent_plot.digit_image(digit, 112).save(path)
    return str(path)


def latent_heldout_pair(class_a: int = 3, class_b: int = 8, seed: int = 0) -> tuple[str, str]:
    """Two held-out digits of the chosen classes (picked by ``seed``), as PNG files."""
    held = _latent_call(latent.heldout)
    g = torch.Generator().manual_seed(int(seed))
    paths = []
    for c in (int(class_a), int(class_b)):
        idx = torch.nonzero(held.labels == c).flatten()
        if len(idx) == 0:
            raise gr.Error(f"No held-out digit of class {c}: expected a class from 0 to 9.")
        pick = int(idx[torch.randint(len(idx), (1,), generator=g)])
        path = output_path(f"heldout-{c}-{pick}", "")
        latent_plot.digit_image(held.digits[pick:pick + 1], 112).save(path)
        paths.append(str(path))
    return paths[0], paths[1]


def _frames_out(frames: torch.Tensor, stem: str) -> tuple[list[tuple[Image.Image, str]], str]:
    labels = _label(frames)
    gallery = [(latent_plot.digit_image(f[None], 112), f"{i + 1}: {lab}") for i, (f, lab) in
               enumerate(zip(frames, labels))]
    gif = _latent_call(latent_plot.save_gif, frames, output_path(stem, "", ".gif"))
    return gallery, str(gif)


def latent_interpolate(image_a: str | None, image_b: str | None, frames: int = 10
                       ) -> tuple[list[tuple[Image.Image, str]], str]:
    """Linear walk in the VAE's latent plane between two digit images → N frames and an animated GIF."""
    a, b = _digit_from_file(image_a, "A"), _digit_from_file(image_b, "B")
    out = _latent_call(latent.interpolate, a, b, int(frames), latent.VAE_ID)
    return _frames_out(out, "vae-walk")


def latent_gan_interpolate(seed_a: int = 1, seed_b: int = 2, frames: int = 10
                           ) -> tuple[list[tuple[Image.Image, str]], str]:
    """Spherical walk between the GAN noise vectors of two seeds → N frames and an animated GIF."""
    out = _latent_call(latent.gan_interpolate, int(seed_a), int(seed_b), int(frames))
    return _frames_out(out, "gan-walk")


Captioned = list[tuple[Image.Image, str]]


def latent_sample(seed: int = 0, count: int = 16) -> tuple[Captioned, Captioned]:
    """Random samples from the prior N(0, I) for the VAE and the GAN, each with the classifier's label."""
    vae = _latent_call(latent.sample_vae, int(count), int(seed))
    gan = _latent_call(latent.sample_gan, int(count), int(seed))
    return ([(latent_plot.digit_image(d[None], 112), lab) for d, lab in zip(vae, _label(vae))],
            [(latent_plot.digit_image(d[None], 112), lab) for d, lab in zip(gan, _label(gan))])


def _latent_notes() -> str:
    m = latent.metrics()
    if m:
        v, g, gan = m["vae"], m["grid"], m["gan"]
        numbers = (f"| VAE held-out reconstruction (BCE) | KL | ELBO | classifier accuracy | grid classes | "
                   f"grid cells ≥ 0.9 | GAN samples ≥ 0.9 |\n|---|---|---|---|---|---|---|\n"
                   f"| {v['recon']:.1f} nats | {v['kl']:.2f} nats | {v['elbo']:.1f} nats | "
                   f"{m['classifier_acc']:.1%} | {g['classes']}/10 | {g['conf90']:.0%} | {gan['conf90']:.0%} |\n\n"
                   f"Held out: 500 MNIST digits (50 per class) never seen in training. Grid: 15×15 VAE decodes over "
                   f"[−2.5, 2.5]²; GAN: 500 samples, seed 0. Per-epoch curves are in `weights/latent-*.md`.")
        t = m.get("gan_training")
        if t:
            rare = [c for c, k in enumerate(gan["class_hist"]) if k < 0.03 * gan["samples"]]
            if t.get("dropped_classes"):
                verdict = (f"a real partial mode collapse: after warm-up the generator stopped drawing "
                           f"{' and '.join(map(str, t['dropped_classes']))} (under 3% of the samples in every "
                           f"epoch), while the other classes and a high label entropy "
                           f"(≥ {t['late_min_label_entropy']:.2f} of 2.30) remained — mode *dropping*")
            elif t["collapse"]:
                verdict = "at some epoch a class fell under 3% of the samples: partial mode collapse"
            else:
                verdict = (f"after warm-up every class kept ≥ {t['late_min_class_frac']:.1%} of the samples "
                           f"(label entropy ≥ {t['late_min_label_entropy']:.2f} of 2.30): no mode collapse")
            if rare:
                counts = ", ".join(f"{c} appears {gan['class_hist'][c]} times" for c in rare)
                verdict += f". In the shipped generator's 500 seed-0 samples, {counts}"
            gap = t["last_d_real"] - t["last_d_fake"]
            balance = ("neither network wins outright, the sign of a healthy adversarial game" if gap < 0.5 else
                       "the discriminator is ahead, so the generator's gradients are getting weaker")
            numbers += (f"\n\n**What our GAN curves show** ({t['epochs']} epochs, below): {verdict}. At the end "
                        f"D(x) ≈ {t['last_d_real']:.2f} and D(G(z)) ≈ {t['last_d_fake']:.2f}: {balance}. The "
                        f"shipped generator is epoch {t['kept_epoch']}: "
                        + ("the most confidently readable epoch among those covering every class."
                           if t.get("kept_by_rule") else
                           "the last one, since no epoch covered every class."))
    else:
        numbers = "Held-out numbers appear here once `weights/latent-metrics.json` exists (`make train-latent`)."
    return f"""### Classroom notes

**What the KL term does.** A VAE's encoder outputs a Gaussian q(z|x) = N(μ, σ²) per digit, and the loss
is reconstruction + KL(q(z|x) ‖ N(0, I)). The KL term pulls every code towards the origin and keeps σ from
shrinking to zero, so codes overlap and the whole plane near the origin is used. It is also why decoded
digits are a little blurry: nearby codes must decode to similar pictures.

**Why the VAE's map is continuous and the AE's has holes.** The plain autoencoder only minimises
reconstruction error: it may put classes anywhere, far apart, with empty space between them that the decoder
never saw, so clicking a gap decodes a smudge. The VAE is trained on *noisy* codes z = μ + σ·ε, so every
point near a code must decode to something sensible, and the KL term packs the codes into N(0, I): you can
sample z ~ N(0, I) and get a digit. Compare the two maps with the radio button, and click the gaps.

**Interpolation.** In the VAE plane a straight line between two codes stays in the populated region. For the
GAN's 32-D Gaussian noise almost all samples lie near a sphere of radius √32; a straight line between two of
them passes closer to the origin, where the generator saw little training noise, so GAN walks use spherical
interpolation (slerp).

**Mode collapse.** A GAN's generator only has to fool the discriminator; it can do so by producing a few
convincing digits (say only 1s) whatever the noise: the samples stop covering the classes of the data. We
watch for it by labelling 500 samples per epoch with the classifier: the label histogram and its entropy
(log 10 = 2.30 when all ten classes are equally frequent) are in `weights/latent-dcgan.md`, next to the
discriminator and generator losses.

{numbers}
"""


def build() -> None:
    """Add the "Latent explorer" tab to the current Blocks."""
    with gr.Tab("Latent explorer", id="latent") as tab:
        gr.Markdown("Explore how autoencoders, VAEs and GANs organise 28×28 MNIST digits in a latent space. "
                    "Click the map or the decoded grid, draw a digit, walk between two digits, or sample.")
        model = gr.Radio(AUTOENCODERS, value=latent.VAE_ID, label="Latent space", elem_id="latent-model")
        with gr.Row():
            latent_map_img = gr.Image(label="Latent map: held-out digits coloured by class (click to decode)",
                                      type="pil", format="png", interactive=False, elem_id="latent-map",
                                      buttons=["download"])
            grid_img = gr.Image(label="Decoded grid over the same square (click to decode)", type="pil",
                                format="png", interactive=False, elem_id="latent-grid", buttons=["download"])
            with gr.Column(min_width=240):
                decoded = gr.Image(label="Decoded digit", type="pil", format="png", interactive=False,
                                   elem_id="latent-decoded", height=260)
                decoded_info = gr.Markdown(elem_id="latent-decoded-info")
                with gr.Row():
                    x_in = gr.Number(0.0, label="x", elem_id="latent-x", minimum=-10, maximum=10, step=0.1)
                    y_in = gr.Number(0.0, label="y", elem_id="latent-y", minimum=-10, maximum=10, step=0.1)
                decode_btn = gr.Button("Decode (x, y) with the VAE", elem_id="latent-decode-run")
        map_info = gr.Markdown(elem_id="latent-map-info")

        gr.Markdown("### Draw a digit\nDraw one digit, large, in the box: it is preprocessed as MNIST was "
                    "(cropped, scaled to 20 px, centred by centre of mass in 28×28), encoded, marked on the "
                    "map above and reconstructed.")
        with gr.Row():
            sketch = gr.Sketchpad(label="Draw a digit", type="pil", image_mode="RGBA", format="png",
                                  canvas_size=(280, 280), layers=False, transforms=(),
                                  brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                                  elem_id="latent-sketch")
            with gr.Column():
                with gr.Row():
                    sketch_in = gr.Image(label="As the model sees it (28×28)", type="pil", format="png",
                                         interactive=False, elem_id="latent-sketch-input", height=200)
                    sketch_out = gr.Image(label="Reconstruction", type="pil", format="png", interactive=False,
                                          elem_id="latent-recon", height=200)
                sketch_info = gr.Markdown(elem_id="latent-sketch-info")
                encode_btn = run_button("Encode my drawing", "latent-encode-run")

        gr.Markdown("### Walk between two digits")
        with gr.Row():
            with gr.Column():
                with gr.Row():
                    digit_a = photo_input("Digit A", "latent-a", height=160)
                    digit_b = photo_input("Digit B", "latent-b", height=160)
                with gr.Row():
                    use_a = gr.Button("Use my drawing as A", size="sm")
                    use_b = gr.Button("Use my drawing as B", size="sm")
                with gr.Row():
                    class_a = gr.Dropdown(list(range(10)), value=3, label="Held-out class A")
                    class_b = gr.Dropdown(list(range(10)), value=8, label="Held-out class B")
                    pick_seed = gr.Number(0, label="Pick seed", precision=0, minimum=0)
                pick = gr.Button("Pick two held-out digits", size="sm", elem_id="latent-pick")
                frames = gr.Slider(2, latent.MAX_FRAMES, value=10, step=1, label="Frames")
                walk_btn = gr.Button("Interpolate (VAE, linear)", variant="primary", elem_id="latent-walk-run")
                with gr.Row():
                    seed_a = gr.Number(1, label="GAN seed A", precision=0, minimum=0)
                    seed_b = gr.Number(2, label="GAN seed B", precision=0, minimum=0)
                gan_walk_btn = gr.Button("Interpolate (GAN, spherical)", elem_id="latent-gan-walk-run")
            with gr.Column():
                walk = gr.Gallery(label="Frames (classifier label and confidence)", columns=10, height=260,
                                  format="png", elem_id="latent-walk")
                walk_gif = gr.Image(label="Animated GIF", type="filepath", interactive=False, height=180,
                                    elem_id="latent-walk-gif")
                walk_file = gr.File(label="Download the GIF", elem_id="latent-walk-file")

        gr.Markdown("### Sample from the prior")
        with gr.Row():
            sample_seed = gr.Number(0, label="Seed", precision=0, minimum=0)
            sample_count = gr.Slider(4, 64, value=16, step=4, label="Samples")
            sample_btn = gr.Button("Sample", elem_id="latent-sample-run")
        with gr.Row():
            vae_samples = gr.Gallery(label="VAE: z ~ N(0, I) in 2-D, decoded", columns=8, format="png",
                                     elem_id="latent-vae-samples")
            gan_samples = gr.Gallery(label="GAN: z ~ N(0, I) in 32-D, generated", columns=8, format="png",
                                     elem_id="latent-gan-samples")
        gr.Markdown(_latent_notes(), elem_id="latent-notes")
        curves = latent.WEIGHTS_DIR / "latent-dcgan-curves.png"
        if curves.is_file():
            gr.Image(str(curves), label="DCGAN training curves (per epoch)", interactive=False,
                     elem_id="latent-gan-curves", buttons=["download"])

        view_out = [latent_map_img, grid_img, map_info]
        tab.select(latent_view, model, view_out, api_name="latent_map", **MODEL_EVENTS)
        tab.select(None, None, None, js=PICK_BRUSH_JS, api_name="latent_pick_brush", api_visibility="private",
                   queue=False)
        model.change(latent_view, model, view_out, api_name="latent_view", **MODEL_EVENTS)
        # Clicks carry their position as browser event data, which an API call cannot send (Gradio fails before
        # the handler runs): kept out of the API, where /latent_decode takes (x, y) instead.
        latent_map_img.select(latent_click_map, model, [decoded, decoded_info], api_name="latent_click_map",
                              show_progress="hidden", api_visibility="undocumented", **MODEL_EVENTS)
        grid_img.select(latent_click_grid, model, [decoded, decoded_info], api_name="latent_click_grid",
                        show_progress="hidden", api_visibility="undocumented", **MODEL_EVENTS)
        decode_btn.click(latent_decode, [x_in, y_in], decoded, api_name="latent_decode", **MODEL_EVENTS)
        sketch_out_all = [sketch_in, sketch_out, latent_map_img, sketch_info]
        encode_btn.click(latent_encode_sketch, [sketch, model], sketch_out_all, api_name="latent_encode_sketch",
                         **MODEL_EVENTS)
        sketch.change(_on_sketch_change, [sketch, model], sketch_out_all, api_name="latent_sketch_live",
                      api_visibility="private", show_progress="hidden",
                      trigger_mode="always_last", **MODEL_EVENTS)
        use_a.click(latent_sketch_as_digit, sketch, digit_a, api_name="latent_sketch_as_a", **MODEL_EVENTS)
        use_b.click(latent_sketch_as_digit, sketch, digit_b, api_name="latent_sketch_as_b", **MODEL_EVENTS)
        pick.click(latent_heldout_pair, [class_a, class_b, pick_seed], [digit_a, digit_b],
                   api_name="latent_heldout_pair", **MODEL_EVENTS)
        walk_btn.click(latent_interpolate, [digit_a, digit_b, frames], [walk, walk_gif],
                       api_name="latent_interpolate", **MODEL_EVENTS).then(
            lambda gif: gif, walk_gif, walk_file, api_name="latent_walk_file", api_visibility="private", queue=False)
        gan_walk_btn.click(latent_gan_interpolate, [seed_a, seed_b, frames], [walk, walk_gif],
                           api_name="latent_gan_interpolate", **MODEL_EVENTS).then(
            lambda gif: gif, walk_gif, walk_file, api_name="latent_gan_walk_file", api_visibility="private",
            queue=False)
        sample_btn.click(latent_sample, [sample_seed, sample_count], [vae_samples, gan_samples],
                         api_name="latent_sample", **MODEL_EVENTS)
