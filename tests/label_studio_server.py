"""A real Label Studio server for the annotation tests: SQLite in a temporary folder, bound to
127.0.0.1 on a free port, signup disabled, a preset admin user and legacy API token.

Started once per test session and stopped by its own process group id.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN_EMAIL = "lead@example.org"


@dataclass
class Server:
    url: str
    token: str
    pid: int
    data_dir: Path
    log: Path
    proc: subprocess.Popen | None = None


def executable() -> str | None:
    here = Path(sys.executable).parent / "label-studio"
    return str(here) if here.is_file() else shutil.which("label-studio")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def start(data_dir: Path, timeout: float = 240.0) -> Server:
    exe = executable()
    if exe is None:
        raise FileNotFoundError("the label-studio executable is not installed (pip install label-studio)")
    port = free_port()
    if not _port_is_free(port):  # Label Studio would silently move to another port
        raise RuntimeError(f"port {port} is busy")
    token = secrets.token_hex(20)
    env = {k: v for k, v in os.environ.items()
           # Label Studio honours these plain names too and would override the flags below.
           if k not in ("USERNAME", "PASSWORD", "HOST", "PORT")}
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LATEST_VERSION_CHECK": "false",
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
    })
    log = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [exe, "start", "--no-browser", "--internal-host", "127.0.0.1", "-p", str(port),
             "--username", ADMIN_EMAIL, "--password", secrets.token_urlsafe(12), "--user-token", token,
             "--enable-legacy-api-token"],
            cwd=data_dir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", token, proc.pid, data_dir, log, proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Label Studio exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stop(server)
    raise TimeoutError(f"Label Studio did not answer /health within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def stop(server: Server) -> None:
    """Stop the server's own process group (runserver forks a reloader child)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if server.proc is not None:
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:  # whatever is left of the group
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
