"""A real TensorBoard for one run's log folder, as a WSGI application the portal mounts.

The application is TensorBoard's own (`tensorboard.backend.application`) with its in-process
data ingester, built once per log folder and cached. The portal calls it from a view behind its
permission check; TensorBoard's frontend uses relative URLs, so it works under any mount point as
long as SCRIPT_NAME carries the prefix (see `call_wsgi`).

TensorBoard loads TensorFlow lazily (for its file system layer) the first time it reads a folder,
inside the first request, never at import.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MAX_CACHED_APPS = 16
LIVE_RELOAD_SECONDS = 30
MAX_LOG_BYTES = 2 * 1024**3

_apps: OrderedDict[tuple[str, bool], WSGIApp] = OrderedDict()
_building: dict[tuple[str, bool], threading.Lock] = {}
_lock = threading.Lock()


def tensorboard_app(log_dir: Path | str, live: bool = False) -> WSGIApp:
    """The cached TensorBoard WSGI app for `log_dir`.

    A finished run (`live=False`) is loaded once, synchronously, and never polled again, so an
    evicted app leaves no thread behind. A running job's app reloads in TensorBoard's daemon
    thread every LIVE_RELOAD_SECONDS.
    """
    key = (str(Path(log_dir).resolve()), live)
    with _lock:
        app = _apps.get(key)
        if app is not None:
            _apps.move_to_end(key)
            return app
        building = _building.setdefault(key, threading.Lock())
    # Loading a finished run's logs can take seconds: only requests for the same run wait for it.
    with building:
        with _lock:
            app = _apps.get(key)
        if app is None:
            app = _build_app(key[0], live)
            with _lock:
                _apps[key] = app
                _apps.pop((key[0], not live), None)  # a run that ended replaces its live app
                while len(_apps) > MAX_CACHED_APPS:
                    _apps.popitem(last=False)
                _building.pop(key, None)
        return app


def refusal_reason(folder: Path | str, max_bytes: int = MAX_LOG_BYTES) -> str | None:
    """Why TensorBoard must not be served on `folder`, or None when it may.

    TensorBoard follows symbolic links, so a run's logs could lead it to another run's files or
    elsewhere on the server; and it reads every byte of every file, so a huge folder would tie up
    a web process.
    """
    links: list[str] = []
    total = 0
    for current, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = os.path.join(current, name)
            if os.path.islink(path):
                links.append(os.path.relpath(path, folder))
            elif name in files:
                total += os.path.getsize(path)
    if links:
        shown = ", ".join(sorted(links)[:3])
        return f"its logs contain symbolic links ({shown}), which could lead outside the run's own files."
    if total > max_bytes:
        return f"its logs are {total / 2**20:.0f} MiB, over the {max_bytes / 2**20:.0f} MiB limit."
    return None


def forget_apps() -> None:
    """Drop every cached application (tests; a run's logs replaced)."""
    with _lock:
        _apps.clear()


def _build_app(log_dir: str, live: bool) -> WSGIApp:
    from tensorboard import default, program
    from tensorboard.backend import application
    from tensorboard.backend.event_processing import data_ingester

    # Bundled plugins only: the projector (a dynamic plugin) serves files named in the run's own
    # projector_config.pbtxt, i.e. any file the applicant points at; unvetted third-party plugins
    # are left out for the same reason.
    board = program.TensorBoard(plugins=default.get_static_plugins())
    board.configure(
        logdir=log_dir,
        path_prefix="",  # the portal passes its mount point in SCRIPT_NAME instead
        load_fast="false",  # in-process reader: no Rust data server process per run
        reload_interval=LIVE_RELOAD_SECONDS if live else 0,
        reload_task="thread" if live else "blocking",
        bind_all=False,
    )
    ingester = data_ingester.LocalDataIngester(board.flags)
    ingester.start()
    app = application.TensorBoardWSGIApp(
        board.flags,
        board.plugin_loaders,
        ingester.data_provider,
        board.assets_zip_provider,
        ingester.deprecated_multiplexer,
    )
    return without_log_location(app, log_dir)


# What TensorBoard's answers say instead of the log folder's path on the server.
LOG_LOCATION_LABEL = "this run's logs"
# Answers that may quote the folder (data/logdir, data/environment and its debug flags, error pages);
# scripts, styles and images never do and are passed through untouched.
_QUOTING_TYPES = ("application/json", "text/html", "text/plain")


def without_log_location(app: WSGIApp, log_dir: str, label: str = LOG_LOCATION_LABEL) -> WSGIApp:
    """`app` with the server path of `log_dir` replaced by `label` in every answer that could quote it.

    TensorBoard names the folder it reads in data/logdir and data/environment (under any
    experiment prefix), which tells a reviewer where the portal keeps its data. Matching the
    content rather than the routes also covers routes TensorBoard adds later.
    """
    needles = {
        log_dir.encode(),
        json.dumps(log_dir)[1:-1].encode(),
        json.dumps(log_dir, ensure_ascii=False)[1:-1].encode(),
    }
    replacement = label.encode()

    def scrub(body: bytes) -> bytes:
        for needle in needles:
            body = body.replace(needle, replacement)
        return body

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = call_wsgi(app, environ, environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "/"))
        headers = dict((key.lower(), value) for key, value in answer.headers)
        if headers.get("content-type", "").split(";")[0].strip() not in _QUOTING_TYPES:
            start_response(f"{answer.status} {_reason(answer.status)}", answer.headers)
            return answer.body
        body = b"".join(answer.body)
        gzipped = headers.get("content-encoding") == "gzip"
        text = gzip.decompress(body) if gzipped else body
        clean = scrub(text)
        if clean != text:
            body = gzip.compress(clean, mtime=0) if gzipped else clean
        kept = [(key, value) for key, value in answer.headers if key.lower() != "content-length"]
        start_response(f"{answer.status} {_reason(answer.status)}", [*kept, ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class WSGIResponse:
    """Status, headers and body of one call to a WSGI application."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: Iterator[bytes]) -> None:
        self.status = status
        self.headers = headers
        self.body = body


_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
}


def call_wsgi(app: WSGIApp, environ: dict[str, Any], script_name: str, path_info: str) -> WSGIResponse:
    """Call `app` as if mounted at `script_name`, for the sub-path `path_info`."""
    environ = dict(environ)
    environ["SCRIPT_NAME"] = script_name.rstrip("/")
    environ["PATH_INFO"] = "/" + path_info.lstrip("/")
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = [(key, value) for key, value in headers if key.lower() not in _HOP_BY_HOP]
        return lambda data: None  # the legacy write() callable; TensorBoard never uses it

    result = app(environ, start_response)
    body = iter(result)
    # start_response may be called lazily, on the first chunk: pull it before reading status.
    first: list[bytes] = []
    if "status" not in captured:
        with contextlib.suppress(StopIteration):
            first.append(next(body))

    def chunks() -> Iterator[bytes]:
        try:
            yield from first
            yield from body
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    return WSGIResponse(captured["status"], captured["headers"], chunks())


def relative_font_urls(html: bytes) -> bytes:
    """Make the index page's web-font URLs page-relative.

    TensorBoard's index.html asks for its fonts at the site root (`url(/font-roboto/...)`) even
    under a path prefix; TensorBoard itself serves them under the prefix, so drop the slash.
    """
    return html.replace(b"url(/font-roboto/", b"url(font-roboto/")


# What the portal adds to the policy TensorBoard sends with its pages. TensorBoard's own policy
# allows its inline scripts by hash and inline styles (Polymer, d3), but says nothing about framing
# or <base>: nothing embeds TensorBoard, so no site may frame it, as for every portal page.
PORTAL_POLICY_ADDITIONS = {
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}


def confined_policy(policy: str) -> str:
    """TensorBoard's Content-Security-Policy with the directives it leaves out added."""
    present = {part.strip().split(" ", 1)[0].lower() for part in policy.split(";") if part.strip()}
    additions = [f"{name} {value}" for name, value in PORTAL_POLICY_ADDITIONS.items() if name not in present]
    return ";".join([policy.rstrip(" ;"), *additions]) if additions else policy
