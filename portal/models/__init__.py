"""The portal's data: people and projects, calls, applications, reviews and the audit log."""

from portal.models.applications import Application
from portal.models.audit import AuditEntry
from portal.models.award_requests import AwardRequest
from portal.models.award_terms import AllocationNotice, BudgetEntry
from portal.models.calls import Call, CallPool, RubricCriterion
from portal.models.invitations import ProjectInvitation
from portal.models.people import Project, User
from portal.models.progress_reports import ProgressReport
from portal.models.repository_changes import RepositoryChange
from portal.models.reviews import ConflictDeclaration, CriterionScore, Review, ReviewAssignment
from portal.models.verification import Verification, VerificationPolicy

__all__ = [
    "AllocationNotice",
    "Application",
    "AuditEntry",
    "AwardRequest",
    "BudgetEntry",
    "Call",
    "CallPool",
    "ConflictDeclaration",
    "CriterionScore",
    "ProgressReport",
    "Project",
    "ProjectInvitation",
    "RepositoryChange",
    "Review",
    "ReviewAssignment",
    "RubricCriterion",
    "User",
    "Verification",
    "VerificationPolicy",
]
