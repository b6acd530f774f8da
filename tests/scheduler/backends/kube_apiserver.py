"""A small stateful Kubernetes API server on loopback, and a test "kubelet" for Indexed Jobs.

Only what the backend uses: create / read / delete NetworkPolicies, Services and Jobs (409 on a second create,
404 when absent), list Pods by `job-name`, read a Pod's log. The kubelet runs each pod of a Job
as a local process with the pod's command and environment, so TF_CONFIG is built inside the
"pod" exactly as on a cluster; pod DNS names map to loopback ports as cluster DNS would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROUTES = {
    "services": re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services(?:/(?P<name>[^/?]+))?$"),
    "jobs": re.compile(r"^/apis/batch/v1/namespaces/(?P<ns>[^/]+)/jobs(?:/(?P<name>[^/?]+))?$"),
    "networkpolicies": re.compile(
        r"^/apis/networking.k8s.io/v1/namespaces/(?P<ns>[^/]+)/networkpolicies(?:/(?P<name>[^/?]+))?$"
    ),
    "pods": re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods(?:/(?P<name>[^/?]+))?(?P<log>/log)?$"),
}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


class ApiServer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.logs: dict[tuple[str, str], str] = {}
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str]] = []
        self.refuse_creates = False  # play a namespace's ResourceQuota / admission webhook saying no
        # Infrastructure faults, each used once, first match: (method, kind, action). An int answers
        # that status without doing anything; "slow" does the work, then answers after
        # `slow_seconds` (a client with a shorter timeout never learns it succeeded).
        self.faults: list[tuple[str, str, int | str]] = []
        self.slow_seconds = 3.0
        store = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, code: int, body: Any, text: bool = False) -> None:
                data = body.encode() if text else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain" if text else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self, method: str) -> None:
                path, _, query = self.path.partition("?")
                store.requests.append((method, path))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                for kind, pattern in ROUTES.items():
                    match = pattern.match(path)
                    if match:
                        action = store.take_fault(method, kind)
                        if isinstance(action, int):
                            return self.reply(action, status_body(action, "InternalError", "injected fault"))
                        code, payload, text = store.dispatch(method, kind, match, query, body)
                        if action == "slow":
                            time.sleep(store.slow_seconds)
                        try:
                            return self.reply(code, payload, text)
                        except OSError:  # the client gave up waiting
                            return None
                self.reply(404, status_body(404, "NotFound", f"no route {path}"))

            def do_GET(self) -> None:
                self.handle_any("GET")

            def do_POST(self) -> None:
                self.handle_any("POST")

            def do_DELETE(self) -> None:
                self.handle_any("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take_fault(self, method: str, kind: str) -> int | str | None:
        with self.lock:
            for index, (fault_method, fault_kind, action) in enumerate(self.faults):
                if fault_method == method and fault_kind == kind:
                    del self.faults[index]
                    return action
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def dispatch(self, method: str, kind: str, match: re.Match, query: str, body: Any):
        ns, name = match["ns"], match["name"]
        with self.lock:
            if kind == "pods" and match["log"]:
                return 200, self.logs.get((ns, name), ""), True
            if method == "POST" and self.refuse_creates:
                return 403, status_body(403, "Forbidden", "exceeded quota"), False
            if method == "POST":
                name = body["metadata"]["name"]
                if (kind, ns, name) in self.objects:
                    return 409, status_body(409, "AlreadyExists", f'{kind} "{name}" already exists'), False
                body["metadata"].update(
                    namespace=ns, uid=str(uuid.uuid4()), resourceVersion="1", creationTimestamp=now()
                )
                body.setdefault("status", {})
                if kind == "jobs" and not body["spec"].get("suspend"):
                    body["status"]["startTime"] = now()
                self.objects[(kind, ns, name)] = body
                return 201, body, False
            if method == "GET" and name:
                obj = self.objects.get((kind, ns, name))
                if obj is None:
                    return 404, status_body(404, "NotFound", f'{kind} "{name}" not found'), False
                return 200, obj, False
            if method == "GET":
                raw = parse_qs(query).get("labelSelector", [""])[0]
                selector = dict(term.split("=", 1) for term in raw.split(",") if "=" in term)
                items = [
                    o
                    for (k, n, _), o in self.objects.items()
                    if k == kind
                    and n == ns
                    and all(o["metadata"].get("labels", {}).get(a) == b for a, b in selector.items())
                ]
                return 200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}, False
            if method == "DELETE":
                obj = self.objects.pop((kind, ns, name), None)
                if obj is None:
                    return 404, status_body(404, "NotFound", f'{kind} "{name}" not found'), False
                if kind == "jobs":  # background propagation: the Job's pods go too
                    for key in [
                        k
                        for k, o in self.objects.items()
                        if k[0] == "pods" and o["metadata"]["labels"].get("job-name") == name
                    ]:
                        self.objects.pop(key)
                if kind == "services":  # the real API answers a Service delete with the object
                    return 200, obj, False
                return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}, False
        return 405, status_body(405, "MethodNotAllowed", method), False

    # Helpers tests use to play the controllers' part.
    def job(self, ns: str, name: str) -> dict[str, Any]:
        return self.objects[("jobs", ns, name)]

    def set_job_condition(self, ns: str, name: str, type_: str, reason: str = "", message: str = "") -> None:
        with self.lock:
            job = self.job(ns, name)
            job["status"].setdefault("conditions", []).append(
                {"type": type_, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now()}
            )
            if type_ == "Complete":
                job["status"]["completionTime"] = now()

    def put_pod(self, ns: str, job_name: str, index: int, *, ready: bool, state: dict[str, Any]) -> None:
        with self.lock:
            name = f"{job_name}-{index}"
            job = self.job(ns, job_name)
            labels = dict(job["spec"]["template"]["metadata"]["labels"], **{"job-name": job_name})
            self.objects[("pods", ns, name)] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {"batch.kubernetes.io/job-completion-index": str(index)},
                },
                "spec": {"containers": [{"name": "worker", "image": "x"}]},
                "status": {
                    "conditions": [
                        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now()}
                    ],
                    "containerStatuses": [
                        {
                            "name": "worker",
                            "ready": ready,
                            "restartCount": 0,
                            "image": "x",
                            "imageID": "",
                            "state": state,
                        }
                    ],
                },
            }


class Kubelet:
    """Runs an Indexed Job's pods as local processes: the pod's command, env and completion index.
    `environments` plays the environments volume (/environments in the pods)."""

    def __init__(
        self, api: ApiServer, source: Path, artifacts: Path, ports: list[int], environments: Path | None = None
    ) -> None:
        self.api, self.source, self.artifacts, self.ports = api, source, artifacts, ports
        self.environments = environments or artifacts / "environments"
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.processes: list[subprocess.Popen] = []
        self.started: list[str] = []

    def prepare(self, ns: str, name: str, uv: str, timeout: float = 600) -> dict[str, Any]:
        """Run the job's preparation pod (its fetch played by `source`): the install container's own
        command and environment, the volume paths mapped here. Its termination message goes into the
        pod's status as the kubelet would put it; returns that message, parsed."""
        prepare = f"{name}-prepare"
        job = self.api.job(ns, prepare)
        container = job["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        message = self.artifacts / f"{prepare}.termination-log"
        env.update(
            CG_SOURCE_DIR=str(self.source),
            CG_ENVIRONMENTS_DIR=str(self.environments),
            CG_UV=uv,
            CG_TERMINATION_LOG=str(message),
            PATH=os.environ["PATH"],
            HOME=str(self.artifacts),
        )
        if "SSL_CERT_FILE" in os.environ:  # this machine's way to the package index
            env["SSL_CERT_FILE"] = os.environ["SSL_CERT_FILE"]
        self.environments.mkdir(parents=True, exist_ok=True)
        command = [sys.executable if c == "python" else c for c in container["command"]]
        started = now()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        text = message.read_text() if message.exists() else done.stderr[-2000:]
        labels = dict(job["spec"]["template"]["metadata"]["labels"], **{"job-name": prepare})
        terminated = {"exitCode": done.returncode, "startedAt": started, "finishedAt": now(), "message": text}
        with self.api.lock:
            self.api.objects[("pods", ns, f"{prepare}-0")] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{prepare}-0", "namespace": ns, "labels": labels},
                "spec": {"containers": [{"name": container["name"], "image": container["image"]}]},
                "status": {
                    "containerStatuses": [
                        {
                            "name": container["name"],
                            "ready": False,
                            "restartCount": 0,
                            "image": container["image"],
                            "imageID": "",
                            "state": {"terminated": terminated},
                        }
                    ]
                },
            }
        if done.returncode == 0:
            self.api.set_job_condition(ns, prepare, "Complete")
        else:
            self.api.set_job_condition(ns, prepare, "Failed", "BackoffLimitExceeded", "backoff limit reached")
        return json.loads(text)

    def start(self, ns: str, name: str) -> None:
        job = self.api.job(ns, name)
        container = job["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        # Cluster DNS: `<job>-<index>.<service>:2222` resolves to this worker's loopback port.
        hosts = env["CG_WORKER_HOSTS"].split(",")
        env["CG_WORKER_HOSTS"] = ",".join(f"127.0.0.1:{self.ports[i]}" for i in range(len(hosts)))
        for key in ("AIP_MODEL_DIR", "AIP_TENSORBOARD_LOG_DIR", "AIP_CHECKPOINT_DIR"):
            env[key] = env[key].replace("/artifacts", str(self.artifacts), 1)
        env.update(
            PATH=os.environ["PATH"],
            HOME=str(self.artifacts),
            CUDA_VISIBLE_DEVICES="",
            TF_CPP_MIN_LOG_LEVEL="2",
            TF_USE_LEGACY_KERAS="1",
            PYTHONDONTWRITEBYTECODE="1",  # keep the example's source tree clean
        )
        workspace = self.source
        pod = job["spec"]["template"]["spec"]
        waits = [c for c in pod.get("initContainers", []) if c["name"] == "wait-for-preparation"]
        prepared = {e["name"]: e["value"] for e in waits[0]["env"]}.get("CG_PREPARED", "") if waits else ""
        if waits and Path(prepared.replace("/environments", str(self.environments), 1) + ".json").exists():
            # The pods' first step, for real: wait for the preparation's outcome, copy the source.
            workspace = self.artifacts / f"workspace-{name}"
            wait_env = {e["name"]: e["value"] for e in waits[0]["env"]}
            wait_env.update(
                CG_PREPARED=wait_env["CG_PREPARED"].replace("/environments", str(self.environments), 1),
                CG_WORKSPACE=str(workspace),
                PATH=os.environ["PATH"],
            )
            command = [sys.executable if c == "python" else c for c in waits[0]["command"]]
            done = subprocess.run(command, env=wait_env, capture_output=True, text=True, timeout=60, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"wait-for-preparation exited {done.returncode}: {done.stderr}")
        command = [sys.executable if c == "python" else c for c in container["command"]]
        if command[0].startswith("/environments/"):  # the environment's Python, on the volume
            command[0] = str(self.environments) + command[0].removeprefix("/environments")
        for index in range(job["spec"]["completions"]):
            log = open(self.artifacts / f"pod-{index}.log", "w")  # noqa: SIM115 — owned by the process
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=workspace,
                    env=dict(env, JOB_COMPLETION_INDEX=str(index)),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            self.started.append(now())
            self.api.put_pod(ns, name, index, ready=True, state={"running": {"startedAt": self.started[-1]}})

    def wait(self, ns: str, name: str, timeout: float) -> list[int]:
        codes = [p.wait(timeout=timeout) for p in self.processes]
        for index, code in enumerate(codes):
            self.api.logs[(ns, f"{name}-{index}")] = (self.artifacts / f"pod-{index}.log").read_text()
            self.api.put_pod(
                ns,
                name,
                index,
                ready=False,
                state={"terminated": {"exitCode": code, "startedAt": self.started[index], "finishedAt": now()}},
            )
        if all(code == 0 for code in codes):
            self.api.set_job_condition(ns, name, "Complete")
        else:
            reason = "Job has reached the specified backoff limit"
            self.api.set_job_condition(ns, name, "Failed", "BackoffLimitExceeded", reason)
        return codes
