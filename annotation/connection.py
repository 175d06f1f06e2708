"""Where the Label Studio server is and how to log in: from the environment, never from arguments.

Command-line arguments end up in shell history and process lists, so the API key is read
from ``LABEL_STUDIO_API_KEY`` or from the file named by ``LABEL_STUDIO_API_KEY_FILE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

URL_ENV = "LABEL_STUDIO_URL"
KEY_ENV = "LABEL_STUDIO_API_KEY"
KEY_FILE_ENV = "LABEL_STUDIO_API_KEY_FILE"
DEFAULT_PROJECT = "recruitwatch"


class AnnotationError(RuntimeError):
    """Something the annotation loop cannot work around; the message says what to do."""


class ServerUnreachable(AnnotationError):
    pass


class BadToken(AnnotationError):
    pass


class ProjectMissing(AnnotationError):
    pass


@dataclass(frozen=True)
class Connection:
    url: str
    api_key: str

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"Connection(url={self.url!r}, api_key=<{len(self.api_key)} chars>)"


def connection_from_env(env: Mapping[str, str] | None = None) -> Connection:
    env = os.environ if env is None else env
    url = (env.get(URL_ENV) or "").strip().rstrip("/")
    if not url:
        raise AnnotationError(f"set {URL_ENV} to your Label Studio address, e.g. http://localhost:8080")
    if not url.startswith(("http://", "https://")):
        raise AnnotationError(f"{URL_ENV}={url!r} must start with http:// or https://")
    key = (env.get(KEY_ENV) or "").strip()
    key_file = (env.get(KEY_FILE_ENV) or "").strip()
    if not key and key_file:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise AnnotationError(f"{KEY_FILE_ENV}={key_file}: no such file")
        key = path.read_text(encoding="utf-8").strip()
        if not key:
            raise AnnotationError(f"{KEY_FILE_ENV}={key_file}: the file is empty")
    if not key:
        raise AnnotationError(f"set {KEY_ENV} (or {KEY_FILE_ENV}, a file holding it) to your Label Studio access "
                              f"token: Label Studio → Account & Settings → Personal Access Token")
    return Connection(url, key)


def check_server(conn: Connection, timeout: float = 10.0) -> None:
    """Fail early with a message that tells a dead server from a bad token."""
    import httpx

    try:
        r = httpx.get(conn.url + "/health", timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServerUnreachable(f"cannot reach Label Studio at {conn.url} ({type(exc).__name__}: {exc}); "
                                f"is it running? (see README, 'Annotation loop')") from exc
    if r.status_code != 200:
        raise ServerUnreachable(f"{conn.url}/health answered HTTP {r.status_code}; is {URL_ENV} a Label Studio server?")


def connect(conn: Connection | None = None):
    """A logged-in SDK client; raises ``ServerUnreachable`` or ``BadToken`` with a clear message."""
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    conn = conn or connection_from_env()
    check_server(conn)
    try:
        client = LabelStudio(base_url=conn.url, api_key=conn.api_key, timeout=120)
        client.users.whoami()
    except ApiError as exc:
        if exc.status_code in (401, 403):
            raise BadToken(f"Label Studio at {conn.url} refused the token in {KEY_ENV} (HTTP {exc.status_code}); "
                           f"copy a fresh one from Account & Settings") from exc
        raise AnnotationError(f"Label Studio at {conn.url} answered HTTP {exc.status_code}: {exc.body}") from exc
    except Exception as exc:  # the SDK refreshes JWT tokens itself and fails with its own errors
        if "401" in str(exc) or "token" in str(exc).lower():
            raise BadToken(f"Label Studio at {conn.url} refused the token in {KEY_ENV} ({exc})") from exc
        raise
    return client


def find_project(client, title: str = DEFAULT_PROJECT):
    """The project with this title, or ``ProjectMissing`` naming the titles that exist."""
    projects = [p for p in client.projects.list() if p.title == title]
    if not projects:
        titles = sorted(p.title for p in client.projects.list())
        raise ProjectMissing(f"no Label Studio project titled {title!r} (existing: {titles or 'none'}); "
                             f"create it with `recruitwatch annotate init --project {title!r}`")
    if len(projects) > 1:
        ids = sorted(p.id for p in projects)
        raise AnnotationError(f"{len(projects)} projects are titled {title!r} (ids {ids}); rename all but one")
    return client.projects.get(projects[0].id)
