"""TensorBoard's own WSGI application for a run, mounted under a path prefix."""

from __future__ import annotations

import io
import json
from pathlib import Path

from scheduler.artifacts import events
from scheduler.artifacts.tensorboard import call_wsgi, refusal_reason, tensorboard_app


def _environ(query: str = "") -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
    }


def test_the_app_is_built_once_per_log_folder(training_logs: Path) -> None:
    assert tensorboard_app(training_logs) is tensorboard_app(training_logs)


def test_the_mounted_app_serves_the_runs_and_the_same_scalars_as_the_reader(training_logs: Path) -> None:
    app = tensorboard_app(training_logs)

    runs = call_wsgi(app, _environ(), "/runs/7/tensorboard/", "data/runs")
    assert runs.status == 200
    assert set(json.loads(b"".join(runs.body))) == {"train", "validation", "legacy"}

    served = call_wsgi(app, _environ("run=train&tag=epoch_loss"), "/runs/7/tensorboard", "/data/plugin/scalars/scalars")
    expected = events.read_scalars(training_logs).runs["train"]["epoch_loss"]
    assert json.loads(b"".join(served.body)) == [list(point) for point in expected]


def test_the_frontend_page_is_served_under_the_prefix(training_logs: Path) -> None:
    page = call_wsgi(tensorboard_app(training_logs), _environ(), "/runs/7/tensorboard", "/")

    assert page.status == 200
    assert ("Content-Type", "text/html; charset=utf-8") in page.headers
    html = b"".join(page.body)
    # The frontend loads everything relative to the page, so it works under the portal's prefix.
    assert b'name="tb-relative-root" content="./"' in html
    assert b'src="index.js' in html


def test_the_projector_plugin_which_serves_files_named_by_the_run_is_not_loaded(training_logs: Path) -> None:
    listing = call_wsgi(tensorboard_app(training_logs), _environ(), "/runs/7/tensorboard", "/data/plugins_listing")

    plugins = json.loads(b"".join(listing.body))
    assert "scalars" in plugins
    assert "projector" not in plugins


def test_log_folders_over_the_size_limit_are_refused(training_logs: Path) -> None:
    assert refusal_reason(training_logs) is None
    assert "over the" in (refusal_reason(training_logs, max_bytes=100) or "")


def test_concurrent_first_requests_share_one_app(logs_copy: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        apps = list(pool.map(lambda _: tensorboard_app(logs_copy), range(8)))

    assert all(app is apps[0] for app in apps)


def _decoded(response) -> bytes:  # type: ignore[no-untyped-def]
    import gzip

    body = b"".join(response.body)
    return gzip.decompress(body) if ("Content-Encoding", "gzip") in response.headers else body


def test_no_answer_names_the_servers_log_folder(training_logs: Path) -> None:
    app = tensorboard_app(training_logs)
    leaks = []
    for subpath in ("data/logdir", "data/logdir/", "data/environment", "experiment/any/data/environment"):
        for encoding in ("", "gzip"):
            response = call_wsgi(app, {**_environ(), "HTTP_ACCEPT_ENCODING": encoding}, "/runs/7/tensorboard", subpath)
            raw = b"".join(response.body)
            response.body = iter([raw])
            body = _decoded(response)
            assert response.status == 200
            assert dict(response.headers)["Content-Length"] == str(len(raw))
            if str(training_logs).encode() in body:
                leaks.append((subpath, encoding, body[:120]))
    assert not leaks

    environment = json.loads(_decoded(call_wsgi(app, _environ(), "/runs/7/tensorboard", "data/environment")))
    assert environment["data_location"] == "this run's logs"
    logdir = json.loads(_decoded(call_wsgi(app, _environ(), "/runs/7/tensorboard", "data/logdir")))
    assert logdir == {"logdir": "this run's logs"}
