"""``recruitwatch demo``: the Gradio app where policy staff try posts, see why, and tune rules."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._app import app, console, fail


@app.command("demo")
def demo_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; the default is reachable from this machine only."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    model: Optional[Path] = typer.Option(None, help="Model folder (default: the shipped model)."),
    sample: Optional[int] = typer.Option(None, "--sample", min=1,
                                         help="Policy lab: use this many posts of the evaluation split (default: all)."),
) -> None:
    """Open the demo for policy staff in a browser (Gradio; no network access needed)."""
    import signal
    import sys

    from demo.app import launch

    # A plain `kill` (SIGTERM) should clean up like Ctrl+C: the exit handlers remove the
    # temporary folder that holds uploads and results.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] binding to {host}: other machines can reach the demo; it has no login.")
    try:
        launch(host=host, port=port, model=model, sample=sample)
    except FileNotFoundError as exc:
        raise fail(str(exc))
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc}")
