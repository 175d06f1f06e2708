"""The Typer app every command module registers on (spaCy's ``cli/_util.py`` pattern)."""

import typer
from rich.console import Console

app = typer.Typer(
    name="recruitwatch",
    help="Find online posts that recruit young people into criminal groups.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
# soft_wrap: long lines (file paths, errors) stay whole, so they can be copied and grepped.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print an error the user can act on and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)
