"""The Kubernetes backend: a NetworkPolicy, a headless Service, a preparation Job and an Indexed Job
per job, via the official client.

The NetworkPolicy lets a job's training pods talk only to each other. The preparation Job fetches
the source and installs the repository's environment in a pod of its own, the only one allowed out
to the internet (kubernetes_environments says why it is not an init container). When the run has
ended, the sync deletes the Service, the NetworkPolicy and the preparation Job (`release`); the
training Job stays for its logs until its TTL. Object names derive from the job id
(`kubernetes_manifests.object_name`), so a launch retried after a crash meets its own objects (409)
and adopts them instead of starting a second run.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from scheduler import environments
from scheduler.backends import RunStatus
from scheduler.backends.kubernetes_environments import (
    INSTALL_CONTAINER,
    evidence_from_message,
    preparation_name,
    record_evidence,
)
from scheduler.backends.kubernetes_manifests import (
    TIME_BOX_EXIT,
    job_network_policy,
    object_name,
    render_manifests,
    render_preparation,
)
from scheduler.contract import JobSpec, job_artifact_paths

JOB_ID_LABEL = "computegrant.org/job-id"
# (connect, read) seconds for every API call: the client waits forever by default, and a hung API
# server would hold a launch until Celery's hard time limit kills the worker process.
REQUEST_TIMEOUT: tuple[float, float] = (5.0, 30.0)


class ClusterUnavailable(RuntimeError):
    """The API server answered 5xx, timed out or dropped the connection: whether a create took
    effect is unknown, so the launch stays claimed and the sweep adopts or relaunches it
    (`launches.reconcile_launch`), never a second run and never a failed job for a blip."""


def _transient(error: Exception) -> bool:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    if isinstance(error, ApiException):
        return error.status is None or error.status >= 500 or error.status == 429
    return isinstance(error, HTTPError | OSError)


# Lines of each worker's log kept when a run ends (the chief's tail is the verification's evidence).
KEPT_LOG_LINES = 5000

# What a failed preparation means for the run, by the step that failed.
PREPARATION_FAILURES = {
    "install": "The repository's dependencies could not be installed",
    "fetch": "The repository could not be fetched at the run's commit",
    "publish": "The fetched source could not be put where the training pods read it",
    "preparation": "The run's preparation did not finish",
}

# Why a Job failed, in words an applicant can act on.
# "Deadline exceeded" first, as the local backend says it: verification tells a time box from a crash by it.
FAILURE_REASONS = {
    "DeadlineExceeded": "Deadline exceeded: the run passed its maximum runtime and was stopped (the Job's deadline).",
    "BackoffLimitExceeded": "A worker failed and the Job's retry limit was reached (BackoffLimitExceeded).",
}


class KubernetesBackend:
    """Runs jobs on a cluster; `api_client` is injected in tests, else kubeconfig or in-cluster."""

    name = "kubernetes"

    def __init__(self, api_client: Any = None, *, artifact_uri: str = "") -> None:
        from kubernetes import client, config

        if api_client is None:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                try:
                    # The client reads KUBECONFIG once, at import; read it when the backend is made.
                    config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
                except (config.ConfigException, OSError) as error:
                    # LookupError: the runner fails the launch with this message instead of retrying.
                    raise LookupError(
                        f"No Kubernetes cluster is configured (in-cluster or kubeconfig): {error}"
                    ) from error
            api_client = client.ApiClient()
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.networking = client.NetworkingV1Api(api_client)
        self.artifact_uri = artifact_uri

    def submit(self, spec: JobSpec) -> dict[str, Any]:
        """Create the job's NetworkPolicy, Service, preparation Job and Job, in that order (the pods
        are fenced before they exist); on 409 adopt each if it carries this job's id."""
        from kubernetes.client.exceptions import ApiException

        service, job = render_manifests(spec, artifact_uri=self.artifact_uri)
        namespace = spec.pool.namespace
        creators: list[tuple[dict[str, Any], Any, Any]] = [
            (
                job_network_policy(spec),
                self.networking.create_namespaced_network_policy,
                self.networking.read_namespaced_network_policy,
            ),
            (service, self.core.create_namespaced_service, self.core.read_namespaced_service),
            (render_preparation(spec), self.batch.create_namespaced_job, self.batch.read_namespaced_job),
            (job, self.batch.create_namespaced_job, self.batch.read_namespaced_job),
        ]
        for body, create, read in creators:
            try:
                create(namespace, body, _request_timeout=REQUEST_TIMEOUT)
            except Exception as error:
                if _transient(error):
                    raise ClusterUnavailable(
                        f"The cluster did not answer the creation of {body['kind']} "
                        f"{namespace}/{body['metadata']['name']}: {error}"
                    ) from error
                if not isinstance(error, ApiException):
                    raise
                if error.status != 409:
                    if error.status and 400 <= error.status < 500:
                        # Refused for good (invalid, forbidden, over a ResourceQuota): fail, don't retry.
                        raise ValueError(
                            f"The cluster refused the {body['kind']}: {error.status} {error.reason}"
                        ) from error
                    raise
                existing = read(body["metadata"]["name"], namespace, _request_timeout=REQUEST_TIMEOUT)
                owner = (existing.metadata.labels or {}).get(JOB_ID_LABEL)
                if owner != str(spec.job_id):
                    raise RuntimeError(
                        f"{body['kind']} {namespace}/{body['metadata']['name']} exists but belongs to "
                        f"job {owner!r}, not {spec.job_id}; refusing to adopt it."
                    ) from error
        return self._handle(spec)

    def find(self, spec: JobSpec) -> dict[str, Any] | None:
        """The handle of this job's Job if it exists on the cluster (a launcher died after creating
        it); None if there is none, so the launch can be made again. A lone Service is adopted then."""
        from kubernetes.client.exceptions import ApiException

        name, namespace = object_name(spec.job_id), spec.pool.namespace
        try:
            existing = self.batch.read_namespaced_job(name, namespace, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as error:
            if error.status == 404:
                return None
            raise OSError(
                f"The cluster did not answer for Job {namespace}/{name}: {error.status} {error.reason}"
            ) from error
        except Exception as error:  # timed out or the connection dropped: not an answer either
            if _transient(error):
                raise OSError(f"The cluster did not answer for Job {namespace}/{name}: {error}") from error
            raise
        labels = (existing.metadata.labels if existing.metadata else None) or {}
        if labels.get(JOB_ID_LABEL) != str(spec.job_id):
            return None
        return self._handle(spec)

    def _handle(self, spec: JobSpec) -> dict[str, Any]:
        return {
            "backend": self.name,
            "namespace": spec.pool.namespace,
            "name": object_name(spec.job_id),
            "workers": spec.workers,
        }

    def _pods(self, handle: dict[str, Any]) -> list[Any]:
        selector = f"job-name={handle['name']}"
        pods = self.core.list_namespaced_pod(
            handle["namespace"], label_selector=selector, _request_timeout=REQUEST_TIMEOUT
        )
        return list(pods.items)

    def status(self, handle: dict[str, Any]) -> RunStatus:
        """Phase from the Job's conditions; started once every worker pod is ready."""
        from kubernetes.client.exceptions import ApiException

        try:
            job = self.batch.read_namespaced_job(handle["name"], handle["namespace"], _request_timeout=REQUEST_TIMEOUT)
        except ApiException as error:
            if error.status == 404:
                return RunStatus("lost", reason="The Job no longer exists on the cluster.")
            raise
        pods = self._pods(handle)
        worker_seconds, starts = _worker_times(pods)
        job_status: Any = job.status
        conditions = {c.type: c for c in (job_status.conditions if job_status else None) or [] if c.status == "True"}
        started_at = _all_ready_at(pods, handle["workers"]) or (
            min(starts) if len(starts) == handle["workers"] else None
        )
        preparation = self._preparation(handle)  # its evidence is recorded once, whenever it is first seen
        if "Complete" in conditions:
            ended = job_status.completion_time or conditions["Complete"].last_transition_time
            return RunStatus("succeeded", started_at, ended, worker_seconds, 0)
        if preparation is not None and preparation["status"] == "failed":
            # Evidence about the repository, not an error of the portal: the installer's own words.
            ended = conditions["Failed"].last_transition_time if "Failed" in conditions else None
            what = PREPARATION_FAILURES.get(str(preparation.get("step")), PREPARATION_FAILURES["install"])
            return RunStatus("failed", None, ended, worker_seconds, None, f"{what}: {preparation['summary']}")
        if "Failed" in conditions:
            condition = conditions["Failed"]
            reason = FAILURE_REASONS.get(condition.reason or "", condition.message or condition.reason or "")
            if _exit_code(pods) == TIME_BOX_EXIT:  # the worker's bootstrap stopped it at the time box
                reason = (
                    f"Deadline exceeded: the run passed its maximum runtime of {_max_runtime(job)} s and was stopped."
                )
            return RunStatus(
                "failed", started_at, condition.last_transition_time, worker_seconds, _exit_code(pods), reason
            )
        if job.spec is not None and job.spec.suspend:
            return RunStatus("pending", reason="Waiting for the cluster's Kueue to admit the Job.")
        if started_at is None:
            if preparation is None or preparation["status"] == "preparing":
                return RunStatus("pending", reason="Fetching the source and installing its dependencies.")
            return RunStatus("pending")
        return RunStatus("running", started_at, None, worker_seconds)

    def _preparation(self, handle: dict[str, Any]) -> dict[str, Any] | None:
        """The preparation's outcome ("installs" evidence, recorded beside the run's artifacts once
        known), {"status": "preparing"} while it runs, None for a job launched without one."""
        from kubernetes.client.exceptions import ApiException

        recorded = environments.evidence(job_artifact_paths(_job_id(handle)).root)
        if recorded is not None and recorded.get("prepared"):
            return recorded  # known: no API call
        name, namespace = preparation_name(handle["name"]), handle["namespace"]
        try:
            job = self.batch.read_namespaced_job(name, namespace, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        pods = self.core.list_namespaced_pod(
            namespace, label_selector=f"job-name={name}", _request_timeout=REQUEST_TIMEOUT
        ).items
        evidence: dict[str, Any] | None = None
        for pod in pods:
            status: Any = pod.status
            for state in (status.init_container_statuses if status else None) or []:
                terminated = state.state.terminated if state.state else None
                if terminated is not None and terminated.exit_code:
                    summary = f"{state.name} exited with {terminated.exit_code} ({terminated.reason or 'Error'})"
                    evidence = {"status": "failed", "step": "fetch", "summary": summary, "log": ""}
            for state in (status.container_statuses if status else None) or []:
                terminated = state.state.terminated if state.state else None
                if state.name == INSTALL_CONTAINER and terminated is not None:
                    evidence = evidence_from_message(terminated.message or terminated.reason or "")
        job_status: Any = job.status
        for condition in (job_status.conditions if job_status else None) or []:
            if evidence is None and condition.type == "Failed" and condition.status == "True":
                summary = f"the preparation Job failed: {condition.message or condition.reason}"
                evidence = {"status": "failed", "step": "preparation", "summary": summary, "log": ""}
        if evidence is None:
            return {"status": "preparing"}
        if recorded is not None and recorded.get("status") == "installed":
            evidence = {**recorded, **evidence} if evidence["status"] == "failed" else recorded
        record_evidence(_job_id(handle), {**evidence, "prepared": True})
        return evidence

    def cancel(self, handle: dict[str, Any]) -> None:
        """Delete the Job (with its pods) and everything `release` deletes; already gone is fine."""
        self._delete(
            lambda: self.batch.delete_namespaced_job(
                handle["name"], handle["namespace"], propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT
            )
        )
        self.release(handle)

    def release(self, handle: dict[str, Any]) -> None:
        """What an ended run no longer needs: its preparation Job (with its pod), Service and
        NetworkPolicy, once the workers' logs are kept beside its artifacts (what verification
        judges and the run page shows, as for local runs). The training Job keeps its pods until
        its TTL. Gone already is fine."""
        self._keep_logs(handle)
        self._delete(
            lambda: self.batch.delete_namespaced_job(
                preparation_name(handle["name"]),
                handle["namespace"],
                propagation_policy="Background",
                _request_timeout=REQUEST_TIMEOUT,
            ),
            lambda: self.core.delete_namespaced_service(
                handle["name"], handle["namespace"], _request_timeout=REQUEST_TIMEOUT
            ),
            lambda: self.networking.delete_namespaced_network_policy(
                handle["name"], handle["namespace"], _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def _keep_logs(self, handle: dict[str, Any]) -> None:
        workers = job_artifact_paths(_job_id(handle)).workers
        tails = self.log_tails(handle, lines=KEPT_LOG_LINES)
        if tails:
            workers.mkdir(parents=True, exist_ok=True)
        for index, text in tails.items():
            if index >= 0:
                (workers / f"worker-{index}.log").write_text(text)

    @staticmethod
    def _delete(*deletes: Any) -> None:
        from kubernetes.client.exceptions import ApiException

        for delete in deletes:
            try:
                delete()
            except ApiException as error:
                if error.status != 404:
                    raise

    def log_tails(self, handle: dict[str, Any], lines: int = 20) -> dict[int, str]:
        tails = {}
        for pod in self._pods(handle):
            index = int((pod.metadata.annotations or {}).get("batch.kubernetes.io/job-completion-index", -1))
            try:
                tails[index] = self.core.read_namespaced_pod_log(
                    pod.metadata.name,
                    handle["namespace"],
                    container="worker",
                    tail_lines=lines,
                    _request_timeout=REQUEST_TIMEOUT,
                )
            except Exception as error:  # a log that cannot be read is shown as such, not fatal
                tails[index] = f"(log unavailable: {error})"
        return tails


def _max_runtime(job: Any) -> str:
    for container in job.spec.template.spec.containers:
        for variable in container.env or []:
            if variable.name == "CG_MAX_RUNTIME_SECONDS":
                return str(variable.value)
    return "?"


def _job_id(handle: dict[str, Any]) -> int:
    return int(handle["name"].rsplit("-", 1)[1])


def _worker_times(pods: list[Any]) -> tuple[list[float], list[datetime]]:
    """Seconds each finished worker ran, and when each worker started."""
    seconds: list[float] = []
    starts: list[datetime] = []
    for pod in pods:
        for state in pod.status.container_statuses or []:
            if state.name != "worker" or state.state is None:
                continue
            running, terminated = state.state.running, state.state.terminated
            if terminated and terminated.started_at:
                starts.append(terminated.started_at)
                seconds.append((terminated.finished_at - terminated.started_at).total_seconds())
            elif running and running.started_at:
                starts.append(running.started_at)
    return seconds, starts


def _all_ready_at(pods: list[Any], workers: int) -> datetime | None:
    times = []
    for pod in pods:
        for condition in pod.status.conditions or []:
            if condition.type == "Ready" and condition.status == "True":
                times.append(condition.last_transition_time)
    return max(times) if len(times) >= workers else None


def _exit_code(pods: list[Any]) -> int | None:
    for pod in pods:
        for state in pod.status.container_statuses or []:
            terminated = state.state.terminated if state.state else None
            if terminated and terminated.exit_code:
                return int(terminated.exit_code)
    return None
