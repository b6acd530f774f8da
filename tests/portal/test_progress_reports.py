"""Progress reports: due when the call says, written by the project, approved (releasing a tranche) or
returned by a maintainer; an overdue one stops new runs when the call says so, and the run form says why."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import AuditEntry, ProgressReport
from portal.services import applications, award_terms, decisions, progress_reports
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import TrainingJob
from tests.portal.conftest import client_for
from tests.scheduler.factories import job_request, make_allocation

HOUR = 3600
pytestmark = pytest.mark.django_db


def _mails(callbacks):  # type: ignore[no-untyped-def]
    return [cb.args[:2] for cb in callbacks if isinstance(cb, partial) and len(cb.args) == 3]


@pytest.fixture
def awarded(draft, applicant, maintainer, make_user, open_call):  # type: ignore[no-untyped-def]
    open_call.report_months = [1, 3, 9]
    open_call.save()
    make_user("free", "reviewer", affiliation="Neutral")
    application = applications.submit(draft, actor=applicant)
    application = decisions.award(application, 100 * HOUR, actor=maintainer, held_seconds=50 * HOUR)
    Snapshot.objects.filter(pk=application.snapshot_id).update(status=Snapshot.Status.DONE, commit="a" * 40)
    application.allocation.refresh_from_db()
    return application


def _first(application):  # type: ignore[no-untyped-def]
    return application.allocation.reports.order_by("due_at").first()


def test_months_are_added_as_calendar_months():
    assert progress_reports.add_months(datetime(2027, 1, 31, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)
    assert progress_reports.add_months(datetime(2027, 11, 15, tzinfo=UTC), 3) == datetime(2028, 2, 15, tzinfo=UTC)


def test_an_award_owes_the_calls_reports_within_its_period_and_a_final_one(awarded, open_call):
    reports = list(awarded.allocation.reports.order_by("due_at"))
    assert [(r.kind, r.months_after_award) for r in reports] == [
        ("progress", 1),
        ("progress", 3),
        ("progress", 9),
        ("final", None),
    ]
    assert reports[-1].due_at == awarded.allocation.expires_at
    short = make_allocation(pool=awarded.pool, hours=1, days=60)
    assert [r.months_after_award for r in progress_reports.schedule(short, open_call, timezone.now())] == [1, None]


def test_the_project_writes_its_report_linking_runs_and_a_released_model(
    awarded, applicant, maintainer, django_capture_on_commit_callbacks
):
    allocation = awarded.allocation
    run = quota.submit_job(allocation, job_request(runtime=HOUR))
    plain = quota.submit_job(allocation, job_request(runtime=HOUR))
    TrainingJob.objects.filter(pk=run.pk).update(
        model_summary={"error": None, "fingerprint": {"saved_model_checksum": "1234567890"}}
    )
    report = _first(awarded)
    url = reverse("portal:report_detail", args=[report.pk])
    page = client_for(applicant).get(url).content.decode()
    assert "report-form" in page and "SavedModel 1234567890" in page
    refused = client_for(applicant).post(url, {"work_done": " ", "runs": [run.pk]})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    refused = client_for(applicant).post(url, {"work_done": "Trained.", "released_models": [plain.pk]})
    assert refused.status_code == 400  # a run without a fingerprinted SavedModel is not a model to release
    report.refresh_from_db()
    assert report.state == "due"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(applicant).post(
            url,
            {
                "work_done": "Trained digits to 97%.",
                "changes": "Fewer epochs.",
                "runs": [run.pk, plain.pk],
                "released_models": [run.pk],
            },
        )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == "submitted" and report.submitted_by == applicant
    assert set(report.runs.values_list("pk", flat=True)) == {run.pk, plain.pk}
    assert list(report.released_models.values_list("pk", flat=True)) == [run.pk]
    assert (maintainer.email, "[ComputeGrant] Report to decide: 1-month report of Digits") in _mails(callbacks)
    shown = client_for(maintainer).get(url).content.decode()
    assert "<code>1234567890</code>" in shown and "report-decide-form" in shown
    with pytest.raises(WorkflowError, match="it cannot be submitted again"):
        progress_reports.submit(report, actor=applicant, work_done="again")
    other_run = quota.submit_job(make_allocation(pool=awarded.pool, hours=2), job_request())
    with pytest.raises(WorkflowError, match="only the runs of its own allocation"):
        progress_reports.submit(report.allocation.reports.last(), actor=applicant, work_done="x", runs=[other_run])


def test_approval_releases_the_held_tranche_and_a_return_needs_a_comment(awarded, applicant, maintainer):
    report = _first(awarded)
    progress_reports.submit(report, actor=applicant, work_done="Trained.")
    decide = reverse("portal:report_decide", args=[report.pk])
    assert client_for(applicant).post(decide, {"decision": "approve"}).status_code == 403
    page = client_for(maintainer).post(decide, {"decision": "return", "comment": ""}, follow=True).content.decode()
    assert progress_reports.NEEDS_COMMENT in page
    report.refresh_from_db()
    assert report.state == "submitted"
    client_for(maintainer).post(decide, {"decision": "return", "comment": "Link the runs."})
    report.refresh_from_db()
    assert report.state == "returned" and report.is_open
    progress_reports.submit(report, actor=applicant, work_done="Trained; runs linked.")
    response = client_for(maintainer).post(decide, {"decision": "approve", "comment": "Good.", "release_hours": "50"})
    assert response.status_code == 302
    report.refresh_from_db()
    allocation = awarded.allocation
    allocation.refresh_from_db()
    assert report.state == "approved" and report.decided_by == maintainer
    assert (allocation.held, allocation.remaining) == (0, 100 * HOUR)
    verbs = list(AuditEntry.objects.filter(target_id=awarded.pk).values_list("verb", flat=True))
    assert {"report.submitted", "report.returned", "report.approved", "allocation.tranche_released"} <= set(verbs)


def test_an_overdue_report_stops_new_runs_when_the_call_says_so_and_the_run_form_says_why(
    awarded, applicant, open_call
):
    allocation = awarded.allocation
    report = _first(awarded)
    ProgressReport.objects.filter(pk=report.pk).update(due_at=timezone.now() - timedelta(days=1))
    quota.submit_job(allocation, job_request())  # the call does not block: runs go on
    open_call.overdue_reports_block_runs = True
    open_call.save()
    with pytest.raises(quota.QuotaError, match=r"1-month report was due on .*: this call stops new runs"):
        quota.submit_job(allocation, job_request())
    page = client_for(applicant).post(
        reverse("scheduler:allocation_detail", args=[allocation.pk]),
        {"entrypoint": "train.py", "workers": 1, "accelerators_per_worker": 1, "max_runtime_minutes": 10, "seed": 1},
    )
    assert page.status_code == 400
    assert "this call stops new runs until it is submitted" in page.content.decode()
    listing = client_for(applicant).get(reverse("portal:allocation_reports", args=[allocation.pk])).content.decode()
    assert 'data-testid="overdue"' in listing
    progress_reports.submit(report, actor=applicant, work_done="Done.")
    quota.submit_job(allocation, job_request())


def test_due_notices_go_out_once_a_week_ahead(awarded, applicant, django_capture_on_commit_callbacks):
    report = _first(awarded)
    ProgressReport.objects.filter(pk=report.pk).update(due_at=timezone.now() + timedelta(days=5))
    subjects = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            award_terms.sweep()
        subjects += [s for a, s in _mails(callbacks) if a == applicant.email]
    assert subjects == [
        f"[ComputeGrant] 1-month report of Digits is due on {timezone.now() + timedelta(days=5):%Y-%m-%d}"
    ]


def test_strangers_neither_read_nor_write_a_report(awarded, make_user):
    other = make_user("eve", "applicant")
    url = reverse("portal:report_detail", args=[_first(awarded).pk])
    assert client_for(other).get(url).status_code == 403
    assert client_for(other).post(url, {"work_done": "mine now"}).status_code == 403
    assert _first(awarded).state == "due"


def test_the_call_form_sets_when_reports_are_due_and_whether_overdue_ones_stop_runs(maintainer, gpu_pool):
    from portal.models import Call
    from tests.portal.test_call_pages import call_post

    client = client_for(maintainer)
    bad = client.post(reverse("portal:call_create"), call_post({gpu_pool: "10"}, report_months="0, three"))
    assert bad.status_code == 400 and "Give whole months from 1 to 120" in bad.content.decode()
    assert not Call.objects.exists()
    post = call_post({gpu_pool: "10"}, report_months="9, 1, 3, 3", overdue_reports_block_runs="on")
    assert client.post(reverse("portal:call_create"), post).status_code == 302
    call = Call.objects.get()
    assert (call.report_months, call.overdue_reports_block_runs) == ([1, 3, 9], True)
