"""Training code for the bundled models (``python -m enhancers.training ...``)."""
