"""The "Models" tab: every registered model with its task, scale, source, license and paper."""

from __future__ import annotations

import gradio as gr

from enhancers.registry import list_specs


def models_table() -> str:
    """A Markdown table of the registry."""
    rows = ["| Id | Task | Scale | Source | License | Paper |", "|---|---|---|---|---|---|"]
    for s in list_specs():
        rows.append(f"| `{s.id}` | {s.task} | ×{s.scale} | {s.source_kind} | {s.license} | [link]({s.paper}) |")
    return "\n".join(rows)


def build() -> None:
    """Add the "Models" tab to the current Blocks."""
    with gr.Tab("Models", id="models"):
        gr.Markdown(models_table())
