"""PostgreSQL lost in the middle of an admission cycle: the cycle fails cleanly (nothing admitted,
nothing reserved twice), the next cycle admits, and the ledger still equals its sums.

The server is not restarted (other suites share it): the cycle's own session is terminated by
pg_terminate_backend while it waits on the pool's row lock, which is what a restart does to it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections

from scheduler import admission, quota
from scheduler.models import Allocation, TrainingJob
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

S = TrainingJob.State


def session_waiting_on_a_lock(timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError("the admission cycle never waited on the pool's lock")


@pytest.mark.django_db(transaction=True)
def test_an_admission_cycle_whose_database_session_dies_admits_nothing_and_the_next_one_admits(settings):
    settings.CG_LAUNCH_ON_ADMISSION = False
    pool = PoolFactory(capacity=4)
    allocation = make_allocation(pool=pool, hours=10)
    jobs = [quota.submit_job(allocation, job_request(workers=2)) for _ in range(2)]
    outcome: dict[str, object] = {}

    def cycle() -> None:
        try:
            outcome["admitted"] = admission.admit_pool(pool.pk)
        except (OperationalError, InterfaceError) as error:
            outcome["error"] = error
        finally:
            connections.close_all()

    blocker = connections.create_connection("default")  # holds the pool's lock, as a slow cycle would
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("SELECT id FROM scheduler_acceleratorpool WHERE id = %s FOR UPDATE", [pool.pk])
    thread = threading.Thread(target=cycle)
    thread.start()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [session_waiting_on_a_lock()])
    thread.join(30)
    blocker.rollback()
    blocker.close()

    assert "error" in outcome and "admitted" not in outcome  # the cycle failed, and said so
    assert set(TrainingJob.objects.filter(pk__in=[j.pk for j in jobs]).values_list("state", flat=True)) == {S.QUEUED}

    close_old_connections()
    assert sorted(admission.admit_pool(pool.pk)) == sorted(j.pk for j in jobs)  # the next cycle admits both
    allocation = Allocation.objects.get(pk=allocation.pk)
    balances = quota.ledger_balances(allocation)
    assert balances == {key: getattr(allocation, key) for key in balances}
    assert allocation.reserved == sum(j.reserved_seconds for j in jobs)
