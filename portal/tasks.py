"""Portal tasks: small, idempotent, each calling one service."""

from celery import shared_task
from django.core.mail import send_mail


@shared_task(name="portal.tasks.ping")
def ping() -> str:
    """A round trip through broker and worker, used by health probes and tests."""
    return "pong"


@shared_task(
    name="portal.tasks.send_email",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=60,
    soft_time_limit=50,
)
def send_email(address: str, subject: str, body: str) -> int:
    """One notification to one address; retried with backoff while the mail server is unreachable."""
    return send_mail(subject, body, None, [address])


@shared_task(name="portal.tasks.deliver_invitation", acks_late=True, time_limit=60, soft_time_limit=50)
def deliver_invitation(invitation_id: int) -> bool:
    """Tell the invitee about a project invitation, if it still waits and names an account."""
    from portal.services import invitations

    return invitations.deliver(invitation_id)


@shared_task(name="portal.tasks.award_terms_sweep", acks_late=True, time_limit=300, soft_time_limit=280)
def award_terms_sweep() -> dict[str, list[int]]:
    """Expire ended allocations, return their unused hours to the calls, send due notices (each once)."""
    from portal.services import award_terms

    return award_terms.sweep()


@shared_task(name="portal.tasks.verify_when_scored", acks_late=True, time_limit=120, soft_time_limit=100)
def verify_when_scored(application_id: int, attempt: int = 0) -> str:
    """Start an application's verification once its static report is in; look again while it is scored."""
    from portal.services import verification

    result = verification.start_when_scored(application_id)
    if result == "waiting for the report" and attempt < 720:  # an hour: longer than scoring may take
        verify_when_scored.apply_async(kwargs={"application_id": application_id, "attempt": attempt + 1}, countdown=5)
    return result


@shared_task(name="portal.tasks.judge_verification", acks_late=True, time_limit=300, soft_time_limit=280)
def judge_verification(verification_id: int, attempt: int = 0) -> str:
    """Judge a verification once its runs ended; look again while they run (at most a day)."""
    from portal.services import verification

    result = verification.judge(verification_id)
    if result == "running" and attempt < 17280:
        judge_verification.apply_async(kwargs={"verification_id": verification_id, "attempt": attempt + 1}, countdown=5)
    return result


@shared_task(name="portal.tasks.judge_verifications", acks_late=True, time_limit=600, soft_time_limit=580)
def judge_verifications() -> int:
    """Periodic: judge every verification whose runs ended (each is judged once)."""
    from portal.services import verification

    return verification.judge_running()
