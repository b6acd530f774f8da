"""People and projects: the custom user and the project an applicant brings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """A portal account. Roles are groups (see portal.access.roles); affiliation feeds conflict checks."""

    email = models.EmailField("email address", unique=True)
    affiliation = models.CharField(
        max_length=200, blank=True, help_text="Organisation you work for; used to avoid conflicts of interest."
    )

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.name_of(self.first_name, self.last_name, self.username)

    @staticmethod
    def name_of(first_name: str, last_name: str, username: str) -> str:
        """How the portal names someone: full name, else username (for rows read without a User)."""
        return f"{first_name} {last_name}".strip() or username


class Project(models.Model):
    """An open-source AI project, brought by an applicant, that applies for compute."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="projects")
    organisation = models.CharField(max_length=200, blank=True)
    repository_url = models.CharField(
        max_length=500, help_text="An https git URL, or a local path where the operator allows it."
    )
    licence = models.CharField(max_length=100, blank=True, help_text="SPDX identifier, e.g. Apache-2.0.")
    description = models.TextField(blank=True)
    # Opt-in: a public page shows what the project's awards produced (portal.selectors.public_pages).
    public_page = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, approved_repository_change: bool = False, **kwargs: Any) -> None:
        """Every path that saves a project (pages, API, admin, shell) meets the same rule: a
        repository under review or awarded changes only through an approved change request."""
        fields = kwargs.get("update_fields")
        if not approved_repository_change and (fields is None or "repository_url" in fields):
            from portal.services.repository_changes import check_editable  # the rule lives with its workflow

            check_editable(self, self.repository_url)
        super().save(*args, **kwargs)

    def is_member(self, user: User) -> bool:
        return user.pk == self.owner_id or self.members.filter(pk=user.pk).exists()

    def has_assigned_reviewer(self, user: User) -> bool:
        """Whether `user` reviews (or has reviewed) one of this project's applications."""
        from portal.models.reviews import ReviewAssignment

        return ReviewAssignment.objects.filter(
            application__project=self, reviewer=user, state__in=ReviewAssignment.ACTIVE_STATES
        ).exists()
