"""``python -m enhancers.training sr --arch compact --scale 2 --steps 6000 --out sr-compact-x2``,
``python -m enhancers.training latent --model vae --epochs 50``,
``python -m enhancers.training color --minutes 30 --cf-weight 0.5 --out color-unet``,
``python -m enhancers.training style --style elephants --minutes 13``,
``python -m enhancers.training corpus --check`` (the photo corpus; ``scripts/fetch_photos.sh`` installs it)"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import EnhancerError
from .sr import ARCHS, SRConfig, train


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m enhancers.training")
    sub = ap.add_subparsers(dest="task", required=True)
    sr = sub.add_parser("sr", help="train a super-resolution model")
    sr.add_argument("--arch", choices=tuple(ARCHS), required=True)
    sr.add_argument("--scale", type=int, choices=(2, 3, 4), required=True)
    sr.add_argument("--steps", type=int, required=True)
    sr.add_argument("--out", required=True, help="weights/<OUT>.safetensors")
    sr.add_argument("--num-feat", type=int, default=32)
    sr.add_argument("--num-conv", type=int, default=10)
    sr.add_argument("--batch", type=int, default=16)
    sr.add_argument("--lr-patch", type=int, default=48)
    sr.add_argument("--lr", type=float, default=5e-4)
    sr.add_argument("--threads", type=int, default=1)
    sr.add_argument("--eval-every", type=int, default=500)
    sr.add_argument("--seed", type=int, default=0)
    sr.add_argument("--init", default=None, help="start from these weights (.safetensors)")
    sr.add_argument("--min-patch-std", type=float, default=0.0, help="redraw LR patches flatter than this")
    sr.add_argument("--uniform-photos", action="store_true", help="draw photos uniformly instead of by area")
    sr.add_argument("--minutes", type=float, default=None,
                    help="wall-clock budget: the cosine decay spans it and --steps becomes a cap")
    sr.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    sr.add_argument("--hr-downscales", type=float, nargs="+", default=[2],
                    help="Lanczos downscales of each photo used as HR (2 = the evaluation protocol)")
    sr.add_argument("--run-dir", default="runs", help="logs and checkpoints go to RUN_DIR/OUT")
    rep = sub.add_parser("report-sr", help="held-out table of local SR models, and model cards")
    rep.add_argument("--cards", action="store_true", help="also write weights/<name>.md for trained runs")
    rep.add_argument("--out", default="runs/sr-report.json")
    lat = sub.add_parser("latent", help="train a latent-explorer model on MNIST (needs requirements-train.txt)")
    lat.add_argument("--model", choices=("classifier", "vae", "ae", "dcgan", "cards"), required=True,
                     help="train one model (classifier first), or 'cards' to evaluate and write model cards")
    lat.add_argument("--epochs", type=int, default=30)
    lat.add_argument("--batch", type=int, default=64)
    lat.add_argument("--lr", type=float, default=None, help="default: 1e-3 (2e-4 for dcgan)")
    lat.add_argument("--latent-dim", type=int, default=32, help="GAN noise size (the latent/dcgan spec expects 32)")
    lat.add_argument("--threads", type=int, default=1)
    lat.add_argument("--seed", type=int, default=0)
    rs = sub.add_parser("restore", help="train the bundled denoiser or JPEG artifact remover")
    rs.add_argument("--task", dest="restore_task", choices=("denoise", "dejpeg"), required=True)
    rs.add_argument("--minutes", type=float, required=True, help="wall-clock training budget")
    rs.add_argument("--out", required=True, help="weights/<OUT>.safetensors")
    rs.add_argument("--batch", type=int, default=8)
    rs.add_argument("--patch", type=int, default=96)
    rs.add_argument("--lr", type=float, default=1e-3)
    rs.add_argument("--threads", type=int, default=1)
    rs.add_argument("--seed", type=int, default=0)
    rs.add_argument("--run-dir", default="runs", help="logs and checkpoints go to RUN_DIR/OUT")
    rs.add_argument("--init", default=None, help="continue from these weights (.safetensors)")
    rs.add_argument("--low-sigma-fraction", type=float, default=0.0, help="share of σ drawn from 0–40 (denoise)")
    rr = sub.add_parser("report-restore", help="held-out tables of the denoiser and JPEG model, and model cards")
    rr.add_argument("--cards", action="store_true", help="also write weights/denoise-unet.md and dejpeg-fbcnn-lite.md")
    rr.add_argument("--cbm3d-only", action="store_true", 
                    help="only fill the CBM3D cache (slow: ~20 s per photo and σ)")
    sub.add_parser("calibrate-sigma", help="fit the blind σ estimator's calibration table on the training photos")
    sub.add_parser("calibrate-qf", help="fit the JPEG model's QF calibration on the training photos (in its weights)")
    col = sub.add_parser("color", help="train the colorization U-Net for a fixed wall-clock time")
    col.add_argument("--out", required=True, help="weights go to WEIGHTS_DIR/<OUT>.safetensors, logs to runs/<OUT>")
    col.add_argument("--minutes", type=float, required=True, help="training time budget (the cosine decay spans it)")
    col.add_argument("--arch", choices=("mobilenet", "vgg16"), default="mobilenet",
                     help="mobilenet: ColorUNet (MobileNetV2 encoder, trained); vgg16: ColorVGGUNet (frozen VGG16)")
    col.add_argument("--encoder", choices=("imagenet", "scratch"), default="imagenet")
    col.add_argument("--cf-weight", type=float, default=0.0, help="weight of the colourfulness term (0: plain L1)")
    col.add_argument("--batch", type=int, default=12)
    col.add_argument("--crop", type=int, default=128)
    col.add_argument("--lr", type=float, default=5e-4)
    col.add_argument("--encoder-lr", type=float, default=None, help="default: --lr; 0 freezes the ImageNet encoder")
    col.add_argument("--eval-minutes", type=float, default=5.0)
    col.add_argument("--threads", type=int, default=1)
    col.add_argument("--seed", type=int, default=0)
    col.add_argument("--weights-dir", default=None, help="default: weights/")
    col.add_argument("--run-dir", default="runs")
    col.add_argument("--init", default=None, help="start from these weights (.safetensors)")
    col.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the forward passes (CPU)")
    col.add_argument("--pool-sides", type=int, nargs="+", default=None,
                     help="short sides (px) the training photos are resized to (default 256 320 400)")
    ng = sub.add_parser("color-nogan", help="NoGAN colorization training (DeOldify): --stage gen, critic, then gan")
    ng.add_argument("--stage", choices=("gen", "critic", "gan"), required=True)
    ng.add_argument("--out", required=True, help="logs in RUN_DIR/<OUT>; stage gan also writes weights/<OUT>.safetensors")
    ng.add_argument("--minutes", type=float, required=True, help="wall-clock budget (stage gan may stop earlier)")
    ng.add_argument("--init", default=None, help="generator weights to start from (.safetensors)")
    ng.add_argument("--critic-init", default=None, help="stage gan: the pretrained critic (.safetensors)")
    ng.add_argument("--arch", choices=("mobilenet", "vgg16"), default="mobilenet", help="the generator (see color)")
    ng.add_argument("--pool-sides", type=int, nargs="+", default=None,
                    help="short sides (px) the training photos are resized to (default 256 320 400)")
    ng.add_argument("--lr", type=float, default=2e-4)
    ng.add_argument("--d-lr", type=float, default=2e-4)
    ng.add_argument("--feature-weight", type=float, default=0.05)
    ng.add_argument("--adv-weight", type=float, default=0.02)
    ng.add_argument("--caught-up", type=float, default=0.5, help="stop when the critic's running loss has closed this share of its gap to 2 ln 2")
    ng.add_argument("--batch", type=int, default=8)
    ng.add_argument("--crop", type=int, default=128, help="training crop side (px)")
    ng.add_argument("--d-feat", type=int, default=32, help="the critic's base channels")
    ng.add_argument("--critic-size", type=int, default=None, help="the critic sees crops area-reduced to this size")
    ng.add_argument("--min-gan-steps", type=int, default=40)
    ng.add_argument("--freeze-encoder", action="store_true", help="train only the decoder (ImageNet encoder fixed)")
    ng.add_argument("--threads", type=int, default=1)
    ng.add_argument("--weights-dir", default=None, help="default: weights/")
    ng.add_argument("--run-dir", default="runs")
    cl = sub.add_parser("color-classes", help="classification colorizer (Zhang et al. 2016): rebalanced soft "
                                              "cross-entropy over a*b* bins, body started from a regression U-Net")
    cl.add_argument("--out", required=True, help="weights/<OUT>.safetensors, logs in RUN_DIR/<OUT>")
    cl.add_argument("--minutes", type=float, required=True, help="wall-clock budget")
    cl.add_argument("--init", default=None, help="regression U-Net weights (default: weights/color-unet.safetensors)")
    cl.add_argument("--lr", type=float, default=1e-4, help="encoder and decoder")
    cl.add_argument("--head-lr", type=float, default=1e-3)
    cl.add_argument("--rebalance", type=float, default=0.5, help="λ of the class rebalancing (1: none)")
    cl.add_argument("--batch", type=int, default=12)
    cl.add_argument("--crop", type=int, default=128)
    cl.add_argument("--pool-sides", type=int, nargs="+", default=None,
                    help="short sides (px) the training photos are resized to (default 256 320 400)")
    cl.add_argument("--no-bf16", action="store_true", help="float32 forward passes")
    cl.add_argument("--threads", type=int, default=2)
    cl.add_argument("--seed", type=int, default=0)
    cl.add_argument("--weights-dir", default=None, help="default: weights/")
    cl.add_argument("--run-dir", default="runs")
    sub.add_parser("color-classes-card", help="measure color/classes at several temperatures against color/unet "
                                              "and write weights/color-classes.md, its metrics and contact sheet")
    sub.add_parser("color-card", help="measure color/unet (gray, previous, new; held-out and check photos; one pass "
                                      "and both ensembles) and write weights/color-unet.md, color-metrics.json, sheet")
    sty = sub.add_parser("style", help="train a fast style network (time-capped)")
    sty.add_argument("--style", required=True, help="examples/styles/<STYLE>.jpg")
    sty.add_argument("--minutes", type=float, default=13.0, help="wall-time budget")
    sty.add_argument("--crop", type=int, default=96)
    sty.add_argument("--batch", type=int, default=2)
    sty.add_argument("--width", type=int, default=16)
    sty.add_argument("--res-blocks", type=int, default=3)
    sty.add_argument("--lr", type=float, default=4e-3)
    sty.add_argument("--style-weight", type=float, default=10.0)
    sty.add_argument("--tv-weight", type=float, default=1.0)
    sty.add_argument("--style-size", type=int, default=256,
                     help="the style image's longer side when its Gram targets are taken (smaller: finer pattern)")
    sty.add_argument("--threads", type=int, default=1)
    sty.add_argument("--init", default=None, help="continue from these weights (.safetensors)")
    sty.add_argument("--out", default=None, help="write the weights here (default weights/style-<STYLE>.safetensors)")
    sty.add_argument("--features", default="gatys/vgg16", choices=("gatys/vgg16", "gatys/hybrid"),
                     help="loss network: ImageNet VGG16 at Johnson et al.'s layers, or the earlier hybrid")
    sty.add_argument("--run-dir", default="runs", help="logs go to RUN_DIR/style-<STYLE>/")
    sty.add_argument("--upsample", default="resize", choices=("resize", "transpose"),
                     help="resize: nearest ×2 + 3×3 convolution (no checkerboard); transpose: the paper's")
    rst = sub.add_parser("report-style", help="held-out Gatys and fast-style losses, and style model cards")
    rst.add_argument("--steps", type=int, default=100)
    rst.add_argument("--photos", type=int, default=3, help="held-out photos to use")
    rst.add_argument("--size", type=int, default=256, help="working size (longer side, px)")
    rst.add_argument("--part", choices=("gatys", "fast", "unseen", "all"), default="all",
                     help="unseen: VGG16 vs hybrid Gatys on --unseen-photos × --unseen-styles (not part of all)")
    rst.add_argument("--fast-photos", type=int, default=None, help="photos for the fast-vs-Gatys part")
    rst.add_argument("--out", default="weights/style-report.json")
    rst.add_argument("--unseen-photos", default=None, help="folder of photos used nowhere else")
    rst.add_argument("--unseen-styles", default=None, help="folder of style images used nowhere else")
    rst.add_argument("--compare-weights", default=None,
                     help="folder of other style-<name>.safetensors to score alongside the bundled ones")
    rst.add_argument("--compare-label", default="other weights", help="their row label in the tables")
    en = sub.add_parser("enhance", help="train the GAN enhancement generator: --stage psnr, then --stage gan")
    en.add_argument("--stage", choices=("psnr", "gan"), required=True)
    en.add_argument("--out", required=True, help="weights/<OUT>.safetensors, logs in RUN_DIR/<OUT>")
    en.add_argument("--minutes", type=float, required=True, help="wall-clock budget")
    en.add_argument("--init", default=None, help="start from these generator weights (.safetensors)")
    en.add_argument("--init-disc", default=None,
                    help="GAN stage: start the discriminator from these weights (a previous run's disc.safetensors)")
    en.add_argument("--scale", type=int, choices=(1, 2), default=2,
                    help="output size / input size: 2, or 1 for a same-size generator (upscale 1)")
    en.add_argument("--batch", type=int, default=12)
    en.add_argument("--hr-patch", type=int, default=96)
    en.add_argument("--lr", type=float, default=2e-4)
    en.add_argument("--d-lr", type=float, default=1e-4)
    en.add_argument("--gan-weight", type=float, default=0.1)
    en.add_argument("--ema-decay", type=float, default=0.995,
                    help="EMA of the generator per step (Real-ESRGAN: 0.999 over 400k steps; a short run needs less)")
    en.add_argument("--d-input-gain", type=float, default=1.0,
                    help="discriminator input gain: (x − 0.5)·gain before its first layer (see UNetDiscriminatorSN)")
    en.add_argument("--d-warmup-minutes", type=float, default=0.0,
                    help="GAN stage: first train only the discriminator against the frozen generator this long")
    en.add_argument("--perceptual-weight", type=float, default=1.0)
    en.add_argument("--texture-weight", type=float, default=0.0,
                    help="EnhanceNet's texture loss (per-patch VGG16 Gram matrices) in the GAN stage")
    en.add_argument("--texture-layer-weights", type=float, nargs=3, default=(1.0, 1.0, 1.0),
                    metavar=("RELU1_2", "RELU2_2", "RELU3_3"))
    en.add_argument("--pixel-weight", type=float, default=1.0)
    en.add_argument("--eval-every", type=int, default=150)
    en.add_argument("--threads", type=int, default=2)
    en.add_argument("--seed", type=int, default=0)
    en.add_argument("--no-usm-gt", action="store_true", help="train against the plain, not the sharpened, ground truth")
    en.add_argument("--run-dir", default="runs")
    en.add_argument("--degradation", choices=("moderate", "paper", "mild", "mixed"), default="moderate",
                    help="second-order degradation ranges: narrowed for a small network (moderate), the paper's, one "
                         "camera-like pass (mild), or half mild and half moderate (mixed)")
    tn = sub.add_parser("tone", help="train the auto-tone curve network on photometric degradations")
    tn.add_argument("--out", default="tone-curves", help="weights/<OUT>.safetensors")
    tn.add_argument("--minutes", type=float, required=True)
    tn.add_argument("--threads", type=int, default=1)
    tn.add_argument("--identity-fraction", type=float, default=0.2, help="share of samples left undegraded")
    tn.add_argument("--batch", type=int, default=16, help="crops per step")
    tn.add_argument("--lr", type=float, default=1e-3, help="Adam's peak learning rate (cosine decay to 5 %%)")
    tn.add_argument("--damaged-fraction", type=float, default=0.0,
                    help="share of crops first blurred, made noisy and JPEG-compressed (the curves must ignore it)")
    tn.add_argument("--zoom", type=float, default=1.0,
                    help="crop windows up to ZOOM times the crop size, from photos resized ZOOM times larger "
                         "(close-ups as well as wide views)")
    tn.add_argument("--loss", choices=("l1", "mse", "psnr"), default="l1",
                    help="loss of the corrected crop: per pixel (l1, mse), or minus each crop's PSNR (psnr)")
    tn.add_argument("--init", help="tone-curve weights to continue from (.safetensors)")
    tn.add_argument("--scene", action="store_true",
                    help="add the frozen ImageNet MobileNetV2 scene encoder (see ToneCurveNet)")
    tn.add_argument("--seed", type=int, default=0)
    tn.add_argument("--run-dir", default="runs")
    ss = sub.add_parser("enhance-same-size",
                        help="convert ×2 enhancement generator weights into same-size ones (2×2 sub-pixel average)")
    ss.add_argument("--from", dest="src", required=True, help="×2 SRVGGNetCompact weights (.safetensors)")
    ss.add_argument("--out", required=True, help="weights/<OUT>.safetensors")
    rpe = sub.add_parser("report-enhance",
                         help="held-out table of the GAN generator and auto-tone vs baselines, and cards")
    rpe.add_argument("--cards-only", action="store_true", help="rewrite the cards from weights/enhance-metrics.json")
    rpe.add_argument("--tone-only", action="store_true",
                     help="measure auto-tone afresh and keep the generator's stored metrics")
    rpd = sub.add_parser("report-distill", help="held-out table of the distilled generators against their teacher "
                                                "(Real-ESRGAN x4plus), speed, contact sheet and cards")
    rpd.add_argument("--cards-only", action="store_true",
                     help="rewrite the cards from weights/enhance-distilled-metrics.json")
    dst = sub.add_parser("distill", help="distil Real-ESRGAN x4plus into a compact generator: --stage targets "
                                         "(teacher outputs, cached in runs/distill-targets), then --stage train; "
                                         "--stage merge sets --init and --partner side by side in one wider network")
    dst.add_argument("--stage", choices=("targets", "train", "merge"), required=True)
    dst.add_argument("--crops", type=int, default=2048, help="targets: degraded crops to run the teacher on")
    dst.add_argument("--lr-patch", type=int, default=64, help="targets: degraded crop edge in px")
    dst.add_argument("--out", help="train: weights/<OUT>.safetensors")
    dst.add_argument("--minutes", type=float, default=30)
    dst.add_argument("--scale", type=int, default=2, choices=(1, 2))
    dst.add_argument("--num-feat", type=int, default=64)
    dst.add_argument("--num-conv", type=int, default=16)
    dst.add_argument("--init", help="student weights to start from (.safetensors)")
    dst.add_argument("--init-scale", type=int, help="the init's scale when it differs (×4 → ×2 or ×1)")
    dst.add_argument("--partner", help="merge: the second network (.safetensors), weighted --partner-weight")
    dst.add_argument("--partner-weight", type=float, default=0.5,
                     help="merge: the output is (1 − w)·init + w·partner")
    dst.add_argument("--batch", type=int, default=16)
    dst.add_argument("--lr", type=float, default=2e-4)
    dst.add_argument("--perceptual-weight", type=float, default=0.0, help="VGG16 perceptual loss to the teacher")
    dst.add_argument("--lpips-weight", type=float, default=0.0, help="LPIPS (VGG16) loss to the teacher")
    dst.add_argument("--texture-weight", type=float, default=0.0, help="EnhanceNet texture loss to the teacher")
    dst.add_argument("--texture-layer-weights", type=float, nargs=3, default=(1.0, 1.0, 1.0),
                     metavar=("RELU1_2", "RELU2_2", "RELU3_3"))
    dst.add_argument("--gan-weight", type=float, default=0.0,
                     help="adversarial loss (the discriminator tells the student's outputs from --gan-real)")
    dst.add_argument("--d-lr", type=float, default=4e-4)
    dst.add_argument("--d-warmup-steps", type=int, default=0, help="discriminator-only steps first")
    dst.add_argument("--gan-real", choices=("teacher", "clean"), default="teacher",
                     help="what the discriminator is told is real: the teacher's outputs or the clean photo crops")
    dst.add_argument("--device", default="cpu", help="train: cpu, cuda or auto (CUDA when available)")
    dst.add_argument("--init-disc", help="discriminator weights to continue from (.safetensors)")
    dst.add_argument("--ema-decay", type=float, default=0.999,
                     help="with --gan-weight: per-step decay of the saved generator's moving average")
    dst.add_argument("--threads", type=int, default=2)
    dst.add_argument("--seed", type=int, default=0)
    dst.add_argument("--eval-every", type=int, default=200)
    dst.add_argument("--run-dir", default="runs")
    cp = sub.add_parser("corpus", help="install the training photo corpus from unpacked Debian packages "
                                       "(scripts/fetch_photos.sh runs this), check it, or rebuild its manifest")
    cp.add_argument("--extracted", default=None,
                    help="folder holding each package unpacked by dpkg -x in a subfolder named after it")
    cp.add_argument("--check", action="store_true", help="only report whether every manifest photo is in place "
                                                         "(exit status 1 if not)")
    cp.add_argument("--rebuild", action="store_true", help="choose the photos afresh and rewrite "
                                                           "scripts/photo-corpus.json (needs data/check-photos)")
    cp.add_argument("--without", nargs="*", default=[], help="optional packages to leave out (enlightenment-data)")
    return ap


def sr_config(a: argparse.Namespace) -> SRConfig:
    """The SR training configuration from parsed ``sr`` arguments."""
    return SRConfig(arch=a.arch, scale=a.scale, steps=a.steps, out_name=a.out, num_feat=a.num_feat,
                    num_conv=a.num_conv, batch=a.batch, lr_patch=a.lr_patch, lr=a.lr, threads=a.threads,
                    eval_every=a.eval_every, seed=a.seed, init=a.init, min_patch_std=a.min_patch_std,
                    uniform_photos=a.uniform_photos, run_dir=a.run_dir,
                    hr_downscales=tuple(a.hr_downscales), minutes=a.minutes, device=a.device)


def _distill(a: argparse.Namespace) -> int:
    from . import distill

    if a.stage == "targets":
        cfg = distill.TargetConfig(crops=a.crops, lr_patch=a.lr_patch, seed=a.seed, threads=a.threads)
        print(json.dumps(distill.make_targets(cfg, distill.training_photos())))
        return 0
    if not a.out:
        print(f"error: distill --stage {a.stage} needs --out", file=sys.stderr)
        return 2
    if a.stage == "merge":
        if not (a.init and a.partner):
            print("error: distill --stage merge needs --init and --partner", file=sys.stderr)
            return 2
        try:
            print(json.dumps(distill.merge_files(a.init, a.partner, a.partner_weight, a.out)))
        except ValueError as err:  # a weight outside [0, 1], or networks that cannot be merged: one line
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    summary = distill.train(distill.DistillConfig(
        out_name=a.out, minutes=a.minutes, scale=a.scale, num_feat=a.num_feat, num_conv=a.num_conv, init=a.init,
        init_scale=a.init_scale, batch=a.batch, lr=a.lr, perceptual_weight=a.perceptual_weight, threads=a.threads,
        seed=a.seed, eval_every=a.eval_every, run_dir=a.run_dir, lpips_weight=a.lpips_weight,
        texture_weight=a.texture_weight, texture_layer_weights=tuple(a.texture_layer_weights),
        gan_weight=a.gan_weight, d_lr=a.d_lr, d_warmup_steps=a.d_warmup_steps, init_disc=a.init_disc,
        gan_real=a.gan_real, ema_decay=a.ema_decay, device=a.device))
    print(json.dumps({"steps": summary["steps_done"], "curve": summary["curve"][-1:]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return _dispatch(a)
    except (EnhancerError, FileNotFoundError) as err:  # missing photos or runs, an unknown model: one line
        print(f"error: {err}", file=sys.stderr)
        return 1


def _dispatch(a: argparse.Namespace) -> int:
    if a.task == "corpus":
        from pathlib import Path

        from .corpus import main as corpus_main

        return corpus_main(Path(a.extracted) if a.extracted else None, a.rebuild, a.check, a.without)
    if a.task == "distill":
        return _distill(a)
    if a.task == "report-distill":
        from .distill_report import main as report_distill

        return report_distill(a.cards_only)
    if a.task == "calibrate-qf":
        from .restore import fit_qf_calibration

        print(json.dumps(fit_qf_calibration()))
        return 0
    if a.task == "calibrate-sigma":
        from .restore import fit_sigma_calibration

        print(json.dumps(fit_sigma_calibration()))
        return 0
    if a.task == "report-restore":
        return _report_restore(a)
    if a.task == "restore":
        return _restore(a)
    if a.task == "color-card":
        from .colorize_nogan_report import write_card

        print(json.dumps(write_card()["bars_met"], indent=1))
        return 0
    if a.task == "color":
        return _color(a)
    if a.task == "color-classes-card":
        from .colorize_classes_report import VISUAL_CHECK
        from .colorize_classes_report import write_card as write_classes_card

        print(json.dumps(write_classes_card(VISUAL_CHECK)["bars_met"], indent=1))
        return 0
    if a.task == "color-classes":
        from .colorize_classes import ClassConfig
        from .colorize_classes import train as train_classes

        cfg = ClassConfig(out_name=a.out, minutes=a.minutes, lr=a.lr, head_lr=a.head_lr, rebalance=a.rebalance,
                          batch=a.batch, crop=a.crop, seed=a.seed, threads=a.threads, bf16=not a.no_bf16,
                          run_dir=a.run_dir)
        for field, value in (("init", a.init), ("weights_dir", a.weights_dir),
                             ("pool_sides", tuple(a.pool_sides) if a.pool_sides else None)):
            if value:
                setattr(cfg, field, value)
        summary = train_classes(cfg)
        print(json.dumps({"steps": summary["steps"], "final": summary["final"]["mean"]}))
        return 0
    if a.task == "color-nogan":
        from .colorize_nogan import NoGANConfig, train as train_nogan

        cfg = NoGANConfig(stage=a.stage, out_name=a.out, minutes=a.minutes, init=a.init, critic_init=a.critic_init,
                          lr=a.lr, d_lr=a.d_lr, feature_weight=a.feature_weight, adv_weight=a.adv_weight,
                          caught_up=a.caught_up, batch=a.batch, threads=a.threads, run_dir=a.run_dir,
                          d_feat=a.d_feat, critic_size=a.critic_size, min_gan_steps=a.min_gan_steps,
                          freeze_encoder=a.freeze_encoder, arch=a.arch, crop=a.crop)
        if a.pool_sides:
            cfg.pool_sides = tuple(a.pool_sides)
        if a.weights_dir:
            cfg.weights_dir = a.weights_dir
        summary = train_nogan(cfg)
        print(json.dumps({"steps": summary["steps"], "stop": summary["stop"], "curve": summary["curve"][-1:]}))
        return 0
    if a.task == "style":
        from .style import StyleTrainConfig, train as train_style

        summary = train_style(StyleTrainConfig(
            style=a.style, minutes=a.minutes, crop=a.crop, batch=a.batch, width=a.width, res_blocks=a.res_blocks,
            lr=a.lr, style_weight=a.style_weight, tv_weight=a.tv_weight, threads=a.threads,
            init=a.init, out=a.out, run_dir=a.run_dir, features=a.features, upsample=a.upsample,
            style_size=a.style_size))
        print(json.dumps({k: summary[k] for k in ("steps", "seconds", "final_ema", "bytes")}))
        return 0
    if a.task == "report-style":
        from .style_report import main as style_report

        return style_report(a.steps, a.photos, a.out, a.size, a.part, a.fast_photos, a.unseen_photos,
                            a.unseen_styles, a.compare_weights, a.compare_label)
    if a.task == "report-sr":
        return _report(a)
    if a.task in ("enhance", "tone", "report-enhance", "enhance-same-size"):
        return _enhance(a)
    if a.task == "latent":
        return _latent(a)
    summary = train(sr_config(a))
    print(json.dumps(summary["final"]["mean"]))
    return 0


def _restore(a: argparse.Namespace) -> int:
    from .restore import RestoreConfig, train as train_restore

    cfg = RestoreConfig(task=a.restore_task, minutes=a.minutes, out_name=a.out, batch=a.batch, patch=a.patch, lr=a.lr,
                        seed=a.seed, threads=a.threads, run_dir=a.run_dir, init=a.init,
                        low_sigma_fraction=a.low_sigma_fraction)
    print(json.dumps(train_restore(cfg)["final_quick"]))
    return 0


def _report_restore(a: argparse.Namespace) -> int:
    from .report_restore import denoise_table, dejpeg_table, fill_cbm3d_cache, write_cards

    if a.cbm3d_only:
        print(json.dumps(fill_cbm3d_cache(), indent=1))
        return 0
    dn, dj = denoise_table(), dejpeg_table()
    print(json.dumps({"denoise": dn["mean"], "dejpeg": dj["mean"], "qf_mean_abs_error": dj["qf_mean_abs_error"],
                      "qf_within_10": dj["qf_within_10"]}, indent=1))
    if a.cards:
        for p in write_cards(dn, dj):
            print("wrote", p)
    return 0


def _latent(a: argparse.Namespace) -> int:
    from .latent import LatentConfig, train as train_latent, write_cards

    if a.model == "cards":
        print(json.dumps(write_cards(), indent=1))
        return 0
    lr = a.lr if a.lr is not None else (2e-4 if a.model == "dcgan" else 1e-3)
    cfg = LatentConfig(model=a.model, epochs=a.epochs, batch=a.batch, lr=lr, seed=a.seed, threads=a.threads,
                       latent_dim=a.latent_dim)
    print(json.dumps(train_latent(cfg)["final"]))
    return 0


def _color(a: argparse.Namespace) -> int:
    from .colorize import ColorConfig, train as train_color

    cfg = ColorConfig(out_name=a.out, minutes=a.minutes, encoder=a.encoder, cf_weight=a.cf_weight, batch=a.batch,
                      crop=a.crop, lr=a.lr, encoder_lr=a.encoder_lr, seed=a.seed, threads=a.threads,
                      eval_minutes=a.eval_minutes, run_dir=a.run_dir, init=a.init, arch=a.arch, bf16=a.bf16)
    if a.pool_sides:
        cfg.pool_sides = tuple(a.pool_sides)
    if a.weights_dir:
        cfg.weights_dir = a.weights_dir
    print(json.dumps(train_color(cfg)["final"]["mean"]))
    return 0


def _enhance(a: argparse.Namespace) -> int:
    if a.task == "tone":
        from .tone import ToneConfig, train as train_tone

        try:
            cfg = ToneConfig(out_name=a.out, minutes=a.minutes, threads=a.threads, seed=a.seed, run_dir=a.run_dir,
                             identity_fraction=a.identity_fraction, damaged_fraction=a.damaged_fraction,
                             loss=a.loss, init=a.init, scene=a.scene, zoom=a.zoom, batch=a.batch, lr=a.lr)
        except ValueError as err:  # a setting out of range: one line, before any photo is read
            print(f"error: {err}", file=sys.stderr)
            return 2
        summary = train_tone(cfg)
        print(json.dumps(summary["curve"][-1]))
        return 0
    if a.task == "report-enhance":
        from .report_enhance import main as report_enhance

        return report_enhance(a.cards_only, a.tone_only)
    from .enhance import EnhanceConfig, train as train_enhance, write_same_size

    if a.task == "enhance-same-size":
        try:
            print("wrote", write_same_size(a.src, a.out))
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0

    cfg = EnhanceConfig(stage=a.stage, out_name=a.out, minutes=a.minutes, init=a.init, init_disc=a.init_disc,
                        scale=a.scale, batch=a.batch,
                        hr_patch=a.hr_patch, lr=a.lr, d_lr=a.d_lr, gan_weight=a.gan_weight,
                        perceptual_weight=a.perceptual_weight, texture_weight=a.texture_weight,
                        texture_layer_weights=tuple(a.texture_layer_weights), pixel_weight=a.pixel_weight, d_input_gain=a.d_input_gain,
                        d_warmup_minutes=a.d_warmup_minutes, ema_decay=a.ema_decay, eval_every=a.eval_every,
                        threads=a.threads, seed=a.seed, usm_gt=not a.no_usm_gt, run_dir=a.run_dir,
                        degradation=a.degradation)
    print(json.dumps(train_enhance(cfg)["curve"][-1]))
    return 0


def _report(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .report import STAGE_DIRS, markdown_table, sr_table, stage_summaries, write_sr_card

    tables = {s: sr_table(s) for s in (2, 4)}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(tables, indent=1))
    for t in tables.values():
        print(markdown_table(t), end="\n\n")
    if a.cards:
        names = sorted({p.parent.name for d in STAGE_DIRS for p in d.glob("sr-*/summary.json")})
        for name in names:
            scale = stage_summaries(name)[-1]["config"]["scale"]
            print("wrote", write_sr_card(name, tables[scale]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
