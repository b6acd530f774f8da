"""The demo's story (`manage.py seed_demo`): the demo call's applications in every state, moved
there by the portal's own services, so each role finds work waiting on first sign-in.

Idempotent: an application is made only for a story project that has none yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from portal.demo.seeders import DEMO_CALL_TITLE
from portal.models import Application, Call, Project, ReviewAssignment, User
from portal.services import applications, assignment, decisions, reviews
from reproducibility.services import score_snapshot
from scheduler.models import AcceleratorPool

S = Application.State
HOUR = 3600
# Each step moves the application one stage further along the workflow.
DRAFT, SCORING, ONE_REVIEW, REVIEWED, AWARDED, DECLINED, WAITLISTED, WITHDRAWN = range(8)


@dataclass(frozen=True)
class StoryApplication:
    slug: str
    name: str
    description: str
    pool: str
    hours: int
    stage: int
    message: str = ""  # the decision's (or the withdrawal's) words to the applicant


DIGITS = StoryApplication(
    "digits",
    "Digits",
    "The reference TensorFlow project: MultiWorkerMirroredStrategy on scikit-learn's digits.",
    "nvidia-v100",
    100,
    AWARDED,
    "Well planned and reproducible: 100 hours to start, ask for more with your first results.",
)
STORY = (
    DIGITS,
    StoryApplication("handwriting-gan", "Handwriting GAN", "A small GAN that writes digits.", "nvidia-v100", 40, DRAFT),
    StoryApplication(
        "speech-commands", "Speech commands", "Keyword spotting on tiny audio clips.", "nvidia-v100", 60, SCORING
    ),
    StoryApplication(
        "protein-contacts",
        "Protein contacts",
        "Contact maps from sequence alone.",
        "tpu-v4-8",
        120,
        ONE_REVIEW,
    ),
    StoryApplication(
        "weather-nowcast", "Weather nowcast", "Radar nowcasting one hour ahead.", "nvidia-v100", 200, REVIEWED
    ),
    StoryApplication(
        "sentiment-tpu",
        "Sentiment on TPU",
        "Fine-tuning a small encoder for sentiment.",
        "tpu-v4-8",
        300,
        DECLINED,
        "The plan does not show how 300 hours would be used; apply again with a smaller first step.",
    ),
    StoryApplication(
        "tiny-imagenet",
        "Tiny ImageNet",
        "ResNet baselines on Tiny ImageNet.",
        "nvidia-v100",
        150,
        WAITLISTED,
        "A good plan; this call's V100 hours are spoken for. We award it if hours come back.",
    ),
    StoryApplication(
        "music-transformer",
        "Music transformer",
        "Symbolic music generation.",
        "nvidia-v100",
        80,
        WITHDRAWN,
        "We found compute elsewhere, thank you.",
    ),
)
# Who reviews first: the reviewer a newcomer opens first still has reviews to write.
FIRST, SECOND = "reviewer2", "reviewer"


def seed_applications() -> list[str]:
    """The demo call's applications, one per state of the workflow (see STORY)."""
    call = Call.objects.filter(title=DEMO_CALL_TITLE).first()
    applicant = User.objects.filter(username="applicant").first()
    maintainer = User.objects.filter(username="maintainer").first()
    if call is None or applicant is None or maintainer is None:
        return []
    people = {u.username: u for u in User.objects.filter(username__in=[FIRST, SECOND])}
    for story in STORY:
        with transaction.atomic():
            project = _project(story, applicant)
            if not Application.objects.filter(project=project, call=call).exists():
                _tell(story, project, call, applicant, maintainer, people)
    return ["story       " + "; ".join(f"{s.name}: {_STAGE_NAMES[s.stage]}" for s in STORY)]


_STAGE_NAMES = {
    DRAFT: "draft",
    SCORING: "submitted, being scored",
    ONE_REVIEW: "under review, one review in",
    REVIEWED: "reviewed, waiting for a decision",
    AWARDED: "awarded",
    DECLINED: "declined",
    WAITLISTED: "waitlisted",
    WITHDRAWN: "withdrawn",
}


def _project(story: StoryApplication, owner: User) -> Project:
    project, _ = Project.objects.get_or_create(
        slug=story.slug,
        defaults={
            "name": story.name,
            "owner": owner,
            "organisation": owner.affiliation,
            "repository_url": str(settings.BASE_DIR / "examples" / "digits"),
            "licence": "Apache-2.0",
            "description": story.description,
        },
    )
    return project


def _tell(
    story: StoryApplication, project: Project, call: Call, applicant: User, maintainer: User, people: dict[str, User]
) -> None:
    plan = applications.Plan(
        pool=AcceleratorPool.objects.get(name=story.pool),
        requested_seconds=story.hours * HOUR,
        justification=f"{story.description} A first baseline, then a sweep of three settings.",
        entrypoint="train.py --epochs 5",
        workers=2 if story.pool == "nvidia-v100" else 1,
        accelerators_per_worker=1 if story.pool == "nvidia-v100" else 4,
        expected_runs=3,
    )
    application = applications.save_draft(project, call, plan, actor=applicant)
    if story.stage == DRAFT:
        return
    application = applications.submit(application, actor=applicant)
    if story.stage != SCORING:  # that one is scored by the worker `make run` starts
        score_snapshot(application.snapshot_id)  # type: ignore[arg-type]
    if story.stage == WITHDRAWN:
        applications.withdraw(application, actor=applicant, reason=story.message)
        return
    if story.stage >= ONE_REVIEW:
        _review(application, people.get(FIRST), score=4)
    if story.stage >= REVIEWED:
        _review(application, people.get(SECOND), score=5 if story.stage == AWARDED else 3)
    if story.stage == AWARDED:
        decisions.award(application, story.hours * HOUR, actor=maintainer, message=story.message)
    elif story.stage == DECLINED:
        decisions.decline(application, actor=maintainer, message=story.message)
    elif story.stage == WAITLISTED:
        decisions.waitlist(application, actor=maintainer, message=story.message)


def _review(application: Application, reviewer: Any, *, score: int) -> None:
    """The reviewer's review, if the assignment gave them this application."""
    open_assignment = application.assignments.filter(reviewer=reviewer, state=ReviewAssignment.State.ASSIGNED).first()
    if open_assignment is None:
        assignment.assign_by_hand(application, reviewer, actor=None)
        open_assignment = application.assignments.get(reviewer=reviewer)
    scores = {criterion.pk: score for criterion in application.call.criteria.all()}
    recommendation = {5: "award", 4: "award", 3: "waitlist"}.get(score, "decline")
    reviews.submit_review(
        open_assignment,
        actor=reviewer,
        scores=scores,
        comment_to_applicant=(
            "Clear plan and a reproducible repository (pinned requirements, seeds, a SavedModel export)."
            if score >= 4
            else "Promising, but the plan leaves the evaluation open: say how you will compare runs."
        ),
        recommendation=recommendation,
        recommended_seconds=application.requested_seconds if score >= 4 else 0,
    )
