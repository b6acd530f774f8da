"""The OpenAPI schema, the API page, and schemathesis against the schema: no server errors."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable

import jsonschema
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from portal.services import award_requests, invitations, projects
from reproducibility import services as reproducibility_services


def test_the_schema_is_public_openapi_3_and_names_every_resource(client, db):
    answer = client.get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    schema = answer.json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/v1/calls/",
        "/api/v1/projects/{id}/",
        "/api/v1/applications/{id}/submit/",
        "/api/v1/applications/{id}/withdraw/",
        "/api/v1/snapshots/{id}/report/",
        "/api/v1/allocations/",
        "/api/v1/jobs/{id}/cancel/",
        "/api/v1/token/",
        # after the award (issue 17)
        "/api/v1/reports/",
        "/api/v1/reports/{id}/submit/",
        "/api/v1/reports/{id}/decide/",
        "/api/v1/award-requests/",
        "/api/v1/award-requests/{id}/decide/",
        "/api/v1/allocations/{id}/notices/",
        "/api/v1/allocations/{id}/release-tranche/",
        "/api/v1/allocations/{id}/reclaim/",
        "/api/v1/allocations/{id}/revoke/",
    } <= paths
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_every_write_documents_its_refusals_keyed_by_field_as_they_are_answered(client, api, project, applicant):
    """A 400 of a write is documented as an object of messages by field, and a real refusal fits it."""
    schema = client.get("/api/schema/", {"format": "json"}).json()
    writes = {
        (path, method): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch") and path.startswith("/api/v1/") and path != "/api/v1/token/"
    }
    undocumented = sorted(key for key, operation in writes.items() if "400" not in operation["responses"])
    assert undocumented == []
    project_create = writes[("/api/v1/projects/", "post")]["responses"]["400"]["content"]["application/json"]
    refusal = project_create["schema"]
    assert refusal["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    for method in ("put", "patch"):
        assert writes[("/api/v1/projects/{id}/", method)]["responses"]["400"]["content"] == {
            "application/json": project_create
        }
    answer = api(applicant).post(
        "/api/v1/projects/", {"name": "DIGITS", "repository_url": "ssh://git@github.com/a/b"}, format="json"
    )
    assert answer.status_code == 400
    jsonschema.validate(answer.json(), refusal)
    assert set(answer.json()) == {"name", "repository_url"}


def test_the_api_page_lists_the_operations_without_scripts(client, db):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/v1/jobs/{id}/cancel/" in html
    assert "<script>" not in html  # only the layout's own script files
    assert "Sign in" in html


HOUR = 3600
# Examples per operation and generation mode: 26 operations x 2 modes x 12, twice, runs in about 25 s.
EXAMPLES = 12


@pytest.fixture
def api_schema(db, world):  # type: ignore[no-untyped-def]
    """The schema as the app serves it, loaded through the WSGI application."""
    # As Django's test client does: a request must not close the test's connection (its open transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        # Django's WSGI handler, as config.wsgi builds it; importing config.wsgi itself would switch
        # this whole test process's TensorBoard to its no-TensorFlow stub.
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _owners_objects(world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Path ids that reach the services for the owner, per resource."""
    return {
        "projects": world.project.pk,
        "applications": world.application.pk,
        "calls": world.application.call_id,
        "snapshots": world.application.snapshot_id,
        "allocations": world.allocation.pk,
        "jobs": world.job.pk,
        "invitations": invitations.invite(world.project, world.other.username, actor=world.owner).pk,
        "reports": world.allocation.reports.first().pk,
        "award-requests": award_requests.request_supplement(
            world.allocation, actor=world.owner, seconds=HOUR, reason="A second seed."
        ).pk,
    }


def _aimed_at(references: dict[str, object]) -> Callable[[schemathesis.Case], schemathesis.Case]:
    """Every other valid body names the owner's own objects, so those requests get past the lookups to the services.

    Counted, not drawn: with derandomized generation, the same examples are aimed on every run and machine
    (the str hash that chose them before changes with each process, and so did the outcome).
    """
    # Counted per operation: one count across operations made whether an operation's bodies were
    # aimed depend on how many bodies the operations before it drew (seen: in one whole-suite run
    # no POST /projects/ body was aimed, so none got past validation).
    bodies: dict[str, itertools.count[int]] = defaultdict(itertools.count)

    def aim(case: schemathesis.Case) -> schemathesis.Case:
        if isinstance(case.body, dict) and next(bodies[case.operation.label]) % 2 == 0:
            case.body.update({key: value for key, value in references.items() if key in case.body})
        return case

    return aim


@pytest.mark.parametrize("who", ["owner", "maintainer"])
def test_no_operation_answers_a_server_error(api_schema, world, make_local_repo, who):
    """Valid and invalid requests to every operation, with a token, on the owner's objects or on any id."""
    user = getattr(world, who)
    ids = _owners_objects(world)
    reproducibility_services.score_snapshot(world.application.snapshot_id)
    spare = projects.create_project(world.owner, name="Spare", repository_url=str(make_local_repo("spare")))
    aim = _aimed_at(
        {
            "project": spare.pk,
            "call": world.application.call_id,
            "pool": "nvidia-v100",
            "allocation": world.allocation.pk,
            "repository_url": str(make_local_repo("elsewhere")),
            "licence": "MIT",  # an SPDX identifier: random text is refused, as the page refuses it
            "members": [],  # people join by invitation: any other list is refused
            "requested_hours": 10.0,
            "workers": 1,
            "accelerators_per_worker": 1,
        }
    )
    failures: list[str] = []
    statuses: dict[str, set[int]] = defaultdict(set)
    refusals: dict[str, list[str]] = defaultdict(list)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 25
    for operation in operations:
        resource = operation.path.split("/")[3]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            if mode == GenerationMode.POSITIVE:
                fixed = {"id": ids[resource]} if "{id}" in operation.path else None
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed).map(aim)

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def call(case: schemathesis.Case) -> None:
                cache.clear()  # throttle counters: this test sends many requests as one user
                # Fetched each time: a POST /token/ among the examples rotates the owner's token.
                token, _ = Token.objects.get_or_create(user=user)
                response = case.call(headers={"Authorization": f"Token {token.key}"})
                statuses[case.operation.label].add(response.status_code)
                if response.status_code == 400 and len(refusals[case.operation.label]) < 5:
                    refusals[case.operation.label].append(response.text[:200])  # shown if nothing got through
                case.validate_response(response, checks=[not_a_server_error])

            try:
                call()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to get wrong: no input
            except Exception as error:
                failures.append(f"{operation.label} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)
    if who == "owner":  # the fuzzing got past validation to the services, not only to refusals
        creations = {name: statuses[f"POST /api/v1/{name}/"] for name in ("projects", "applications", "jobs")}
        assert all(201 in answered for answered in creations.values()), (
            creations,
            {name: refusals[f"POST /api/v1/{name}/"] for name, answered in creations.items() if 201 not in answered},
        )
