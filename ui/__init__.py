"""The Gradio UI: one module per tab, each with a ``build()`` that adds the tab to the current ``gr.Blocks``,
and :mod:`ui.common` for what the tabs share. ``app.py`` assembles them."""
