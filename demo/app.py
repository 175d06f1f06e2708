"""``build_app()``: the four tabs in one Gradio Blocks; ``launch()``: serve it on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from . import about, batch, policy_lab, try_post  # noqa: F401  (demo/__init__ has set Gradio's environment)
from .services import MAX_UPLOAD_BYTES, Services

TITLE = "recruitwatch — demo for policy staff"
INTRO = ("Try a post, see why the tool decided what it did, and tune a policy with its consequences in front "
         "of you. Everything runs on this machine; nothing you type or upload leaves it or is kept.")


def theme():
    """The default theme with fonts the browser has or Gradio serves itself (no web fonts fetched)."""
    import gradio as gr

    return gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
                             font_mono=["ui-monospace", "Consolas", "DejaVu Sans Mono", "monospace"])


def build_app(services: Services | None = None, model: str | Path | None = None, sample: int | None = None):
    """The demo as a ``gr.Blocks``; one detector (in ``services``) is shared by every tab and session."""
    import gradio as gr

    services = services or Services(model=model, sample=sample)
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown(f"## {TITLE}\n{INTRO}")
        with gr.Tabs():
            with gr.Tab("Try a post", id="try", elem_id="tab-try"):
                try_post.build(services)
            with gr.Tab("Policy lab", id="lab", elem_id="tab-lab"):
                policy_lab.build(services)
            with gr.Tab("Batch", id="batch", elem_id="tab-batch"):
                batch.build(services)
            with gr.Tab("About", id="about", elem_id="tab-about"):
                about.build(model)
    app.services = services
    return app


def launch_kwargs(host: str = "127.0.0.1", port: int | None = 7860) -> dict:
    """Arguments for ``Blocks.launch``: local only, no share link, no server-side rendering (it
    would need Node), uploads capped a little above the app's own limit so the app's clearer
    message is the one people see."""
    return dict(server_name=host, server_port=port, share=False, ssr_mode=False, show_error=True,
                max_file_size=2 * MAX_UPLOAD_BYTES, theme=theme(), footer_links=["api"], quiet=True)


def launch(host: str = "127.0.0.1", port: int = 7860, model: str | Path | None = None, sample: int | None = None,
           prewarm: bool = True, **kwargs):
    app = build_app(model=model, sample=sample)
    app.queue(default_concurrency_limit=2)
    if prewarm:
        # Load the model and score the Policy lab's evaluation split while people read the
        # first tab, so the lab answers at once when they get there.
        import threading

        threading.Thread(target=app.services.eval_scored, name="recruitwatch-prewarm", daemon=True).start()
    print(f"recruitwatch demo on http://{'[' + host + ']' if ':' in host else host}:{port} (Ctrl+C to stop)")
    return app.launch(**{**launch_kwargs(host, port), **kwargs})
