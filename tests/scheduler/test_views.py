"""Quota pages: who sees what, submitting and cancelling runs, CSV exports, the burn-down chart."""

import csv
import io

import pytest
from django.urls import reverse

from portal.access import roles
from scheduler import admission, quota, selectors, views
from scheduler.models import TrainingJob
from tests.scheduler.factories import HOUR, PoolFactory, ProjectFactory, job_request, make_allocation

pytestmark = pytest.mark.django_db
S = TrainingJob.State


@pytest.fixture
def world(make_user):
    owner = make_user("owner", roles.APPLICANT)
    other = make_user("other", roles.APPLICANT)
    maintainer = make_user("boss", roles.MAINTAINER)
    reviewer = make_user("judge", roles.REVIEWER)
    project = ProjectFactory(owner=owner)
    allocation = make_allocation(pool=PoolFactory(name="nvidia-v100", capacity=8), project=project, hours=10)
    job = quota.submit_job(allocation, job_request(workers=2, runtime=HOUR), actor=owner)
    return {
        "owner": owner,
        "other": other,
        "maintainer": maintainer,
        "reviewer": reviewer,
        "allocation": allocation,
        "job": job,
    }


def urls(world):
    a, j = world["allocation"].pk, world["job"].pk
    return {
        "allocation_detail": reverse("scheduler:allocation_detail", args=[a]),
        "ledger_csv": reverse("scheduler:allocation_ledger_csv", args=[a]),
        "job_detail": reverse("scheduler:job_detail", args=[j]),
        "pools": reverse("scheduler:pool_list"),
        "queue": reverse("scheduler:queue"),
        "pool_queue": reverse("scheduler:pool_queue", args=[world["allocation"].pool_id]),
        "allocations": reverse("scheduler:allocation_list"),
        "jobs": reverse("scheduler:job_list"),
        "allocations_csv": reverse("scheduler:allocations_csv"),
    }


EXPECTED = {
    #                   owner other maintainer reviewer
    "allocation_detail": (200, 403, 200, 403),
    "ledger_csv": (200, 403, 200, 403),
    "job_detail": (200, 403, 200, 403),
    "pools": (403, 403, 200, 403),
    "queue": (403, 403, 200, 403),
    "pool_queue": (403, 403, 200, 403),
    "allocations": (200, 200, 200, 200),
    "jobs": (200, 200, 200, 200),
    "allocations_csv": (200, 200, 200, 200),
}


def test_every_quota_page_checks_who_may_see_it(client, world):
    for name, url in urls(world).items():
        client.logout()
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
        for who, expected in zip(("owner", "other", "maintainer", "reviewer"), EXPECTED[name], strict=True):
            client.force_login(world[who])
            assert client.get(url).status_code == expected, (name, who)


def test_every_scheduler_url_is_in_the_permission_table(world):
    from scheduler import urls as scheduler_urls

    names = {pattern.name for pattern in scheduler_urls.urlpatterns} - {"job_cancel"}
    assert names == {
        "allocation_detail",
        "allocation_ledger_csv",
        "job_detail",
        "pool_list",
        "queue",
        "pool_queue",
        "allocation_list",
        "job_list",
        "allocations_csv",
    }


def test_lists_show_only_the_users_own_allocations_and_runs(client, world):
    client.force_login(world["other"])
    assert "nvidia-v100" not in client.get(reverse("scheduler:allocation_list")).content.decode()
    rows = list(
        csv.reader(io.StringIO(b"".join(client.get(reverse("scheduler:allocations_csv")).streaming_content).decode()))
    )
    assert rows == [
        [
            "id",
            "project",
            "pool",
            "state",
            "awarded_s",
            "reserved_s",
            "used_s",
            "remaining_s",
            "starts",
            "expires",
        ]
    ]
    client.force_login(world["owner"])
    page = client.get(reverse("scheduler:allocation_list")).content.decode()
    assert "nvidia-v100" in page and "10.00" in page


def test_the_owner_launches_a_run_from_the_allocation_page(client, world):
    client.force_login(world["owner"])
    url = reverse("scheduler:allocation_detail", args=[world["allocation"].pk])
    response = client.post(
        url,
        {
            "entrypoint": "train.py",
            "args": "--epochs 3",
            "workers": 2,
            "accelerators_per_worker": 1,
            "max_runtime_minutes": 30,
            "seed": 7,
        },
    )
    job = TrainingJob.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == reverse("scheduler:job_detail", args=[job.pk])
    assert (job.args, job.workers, job.max_runtime_seconds, job.seed) == (["--epochs", "3"], 2, 1800, 7)
    assert job.submitted_by == world["owner"]


def test_a_run_that_does_not_fit_is_refused_on_the_page_with_nothing_reserved(client, world):
    client.force_login(world["owner"])
    url = reverse("scheduler:allocation_detail", args=[world["allocation"].pk])
    response = client.post(
        url,
        {
            "entrypoint": "train.py",
            "workers": 4,
            "accelerators_per_worker": 2,
            "max_runtime_minutes": 90,
            "seed": 1,
        },
    )
    assert response.status_code == 400
    assert "Not enough quota" in response.content.decode()
    assert TrainingJob.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("entrypoint", "../../etc/passwd", "path inside the repository"),
        ("args", "--name 'unclosed", "could not be read"),
        ("workers", "0", "greater than or equal to 1"),
    ],
)
def test_bad_run_forms_are_refused_with_a_clear_message(client, world, field, value, message):
    client.force_login(world["owner"])
    data = {
        "entrypoint": "train.py",
        "workers": 1,
        "accelerators_per_worker": 1,
        "max_runtime_minutes": 5,
        "seed": 1,
    }
    data[field] = value
    response = client.post(reverse("scheduler:allocation_detail", args=[world["allocation"].pk]), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert TrainingJob.objects.count() == 1


def test_others_cannot_launch_or_cancel_runs(client, world):
    client.force_login(world["other"])
    url = reverse("scheduler:allocation_detail", args=[world["allocation"].pk])
    assert client.post(url, {"entrypoint": "train.py"}).status_code == 403
    assert client.post(reverse("scheduler:job_cancel", args=[world["job"].pk])).status_code == 403
    world["job"].refresh_from_db()
    assert world["job"].state == S.QUEUED


def test_cancelling_a_queued_run_from_its_page_releases_the_reservation(client, world):
    client.force_login(world["owner"])
    client.post(reverse("scheduler:job_cancel", args=[world["job"].pk]))
    world["job"].refresh_from_db()
    world["allocation"].refresh_from_db()
    assert world["job"].state == S.CANCELLED and world["allocation"].reserved == 0
    page = client.get(reverse("scheduler:job_detail", args=[world["job"].pk])).content.decode()
    assert "queued → <strong>cancelled</strong>" in page


def test_the_job_page_shows_queue_position_and_estimated_start(client, world):
    admission.admit_pending_jobs(world["allocation"].pool)
    client.force_login(world["owner"])
    page = client.get(reverse("scheduler:job_detail", args=[world["job"].pk])).content.decode()
    assert 'data-testid="job-state">admitted' in page
    queued = quota.submit_job(world["allocation"], job_request(workers=8))
    admission.admit_pending_jobs(world["allocation"].pool)
    page = client.get(reverse("scheduler:job_detail", args=[queued.pk])).content.decode()
    assert "Position 1 in the nvidia-v100 queue" in page
    partial = client.get(reverse("scheduler:job_detail", args=[queued.pk]), HTTP_HX_REQUEST="true")
    assert partial.content.decode().lstrip().startswith('<section id="job-status"')


def test_the_ledger_csv_and_the_burn_down_replay_the_ledger(client, world):
    job = world["job"]
    quota.mark_started(admission.admit_pending_jobs(world["allocation"].pool)[0])
    quota.finish_job(job, S.SUCCEEDED, worker_seconds=[900, 900])
    client.force_login(world["maintainer"])
    body = b"".join(
        client.get(reverse("scheduler:allocation_ledger_csv", args=[world["allocation"].pk])).streaming_content
    )
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r["kind"], r["accelerator_seconds"]) for r in rows] == [
        ("award", str(10 * HOUR)),
        ("reserve", str(2 * HOUR)),
        ("charge", "1800"),
        ("release", str(-(2 * HOUR - 1800))),
    ]
    page = client.get(reverse("scheduler:allocation_detail", args=[world["allocation"].pk])).content.decode()
    assert 'class="series-remaining"' in page and 'data-testid="used">0.50 h' in page


def test_pools_page_shows_capacity_in_use_and_queued_demand(client, world):
    admission.admit_pending_jobs(world["allocation"].pool)
    quota.submit_job(world["allocation"], job_request(workers=8))
    client.force_login(world["maintainer"])
    response = client.get(reverse("scheduler:pool_list"))
    row = response.context["usage"][0]
    assert (row.pool.capacity, row.in_use, row.queued_jobs, row.queued_accelerators) == (8, 2, 1, 8)
    assert row.utilisation == 25.0
    line = reverse("scheduler:pool_queue", args=[row.pool.pk])
    assert f'href="{line}" aria-label="1 queued on nvidia-v100: the whole line"' in response.content.decode()


def test_maintainers_read_allocations_in_the_admin_but_cannot_edit_balances(client, world):
    client.force_login(world["maintainer"])
    url = reverse("admin:scheduler_allocation_change", args=[world["allocation"].pk])
    page = client.get(url)
    assert page.status_code == 200 and "award" in page.content.decode()
    client.post(url, {"awarded": 1})
    world["allocation"].refresh_from_db()
    assert world["allocation"].awarded == 10 * HOUR
    assert client.get(reverse("admin:scheduler_acceleratorpool_changelist")).status_code == 200


def test_the_queue_page_lists_the_head_of_each_line_in_admission_order(client, world):
    allocation = world["allocation"]
    waiting = [quota.submit_job(allocation, job_request(workers=1, runtime=60)) for _ in range(4)]
    line = selectors.queue(allocation.pool, limit=3)
    assert line.length == 5 and line.hidden == 2  # the fixture's job is queued too
    assert [row.position for row in line.rows] == [1, 2, 3]
    assert line.rows[0].job == world["job"]  # oldest first at equal share and priority
    client.force_login(world["maintainer"])
    page = client.get(reverse("scheduler:queue")).content.decode()
    assert "5 runs in line." in page
    assert all(reverse("scheduler:job_detail", args=[job.pk]) in page for job in [world["job"], *waiting])
    assert reverse("scheduler:pool_queue", args=[allocation.pool_id]) not in page  # all of the line is shown


def test_each_pool_gets_the_head_of_its_own_line_when_read_together(world):
    v100 = world["allocation"]
    tpu = make_allocation(pool=PoolFactory(name="tpu-v4", capacity=4), hours=10)
    idle = PoolFactory(name="idle")
    on_v100 = [world["job"], *(quota.submit_job(v100, job_request()) for _ in range(2))]
    on_tpu = [quota.submit_job(tpu, job_request()) for _ in range(3)]
    lines = selectors.queues([tpu.pool, idle, v100.pool], limit=2)
    assert [(line.pool, line.length, line.hidden) for line in lines] == [
        (tpu.pool, 3, 1),
        (idle, 0, 0),
        (v100.pool, 3, 1),
    ]
    assert [row.job for row in lines[0].rows] == on_tpu[:2]
    assert [row.job for row in lines[2].rows] == on_v100[:2]
    assert [row.position for line in lines for row in line.rows] == [1, 2, 1, 2]


def test_a_long_line_shows_its_head_and_links_to_the_pool_page_which_pages_through_all_of_it(
    client, world, monkeypatch
):
    allocation = world["allocation"]
    waiting = [quota.submit_job(allocation, job_request(workers=1, runtime=60)) for _ in range(views.QUEUE_HEAD + 2)]
    line = [world["job"], *waiting]  # equal share and priority: oldest first
    client.force_login(world["maintainer"])
    overview = client.get(reverse("scheduler:queue")).content.decode()
    pool_url = reverse("scheduler:pool_queue", args=[allocation.pool_id])
    assert f"{len(line)} runs in line; the first {views.QUEUE_HEAD} are shown." in overview
    assert overview.count('data-testid="queue-row"') == views.QUEUE_HEAD
    assert f'href="{pool_url}"' in overview
    assert reverse("scheduler:job_detail", args=[line[-1].pk]) not in overview

    per_page = 5
    seen = []
    for number in (1, 2, 3):
        page, rows = selectors.queue_page(allocation.pool, number, per_page)
        assert [row.position for row in rows] == list(range(page.start_index(), page.end_index() + 1))
        seen += [row.job for row in rows]
    assert seen == line  # every run once, in admission order

    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", per_page)
    body = client.get(pool_url, {"page": 2}).content.decode()
    assert f"{len(line)} runs in line; positions 6 to 10 are shown." in body
    assert "Page 2 of 3" in body
    assert reverse("scheduler:job_detail", args=[line[5].pk]) in body
    assert reverse("scheduler:job_detail", args=[line[4].pk]) not in body
    assert client.get(reverse("scheduler:pool_queue", args=[10_000])).status_code == 404


def test_the_pool_page_says_when_nothing_is_queued(client, world):
    quota.cancel_job(world["job"], actor=world["maintainer"])
    client.force_login(world["maintainer"])
    body = client.get(reverse("scheduler:pool_queue", args=[world["allocation"].pool_id])).content.decode()
    assert "Nothing queued: a run waits here only while its pool has no room" in body
