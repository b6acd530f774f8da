"""Query-string filters of the API's lists. Unknown states and malformed ids answer 400."""

from __future__ import annotations

import django_filters
from django import forms

from portal.models import Application, AwardRequest, ProgressReport
from scheduler.models import Allocation, TrainingJob

# Ids are database bigints; anything outside is refused as input rather than sent to the database.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An object id. It is not looked up, so filtering by another's object finds nothing, and says nothing."""

    field_class = forms.IntegerField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class ApplicationFilter(django_filters.FilterSet):
    call = IdFilter(field_name="call", help_text="Call id.")
    project = IdFilter(field_name="project", help_text="Project id.")
    state = django_filters.ChoiceFilter(choices=Application.State.choices)

    class Meta:
        model = Application
        fields = ["call", "project", "state"]


class AllocationFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project", help_text="Project id.")
    pool = django_filters.CharFilter(field_name="pool__name", max_length=63, help_text="Pool name.")
    state = django_filters.ChoiceFilter(choices=Allocation.State.choices)

    class Meta:
        model = Allocation
        fields = ["project", "pool", "state"]


class ReportFilter(django_filters.FilterSet):
    allocation = IdFilter(field_name="allocation", help_text="Allocation id.")
    project = IdFilter(field_name="allocation__project", help_text="Project id.")
    kind = django_filters.ChoiceFilter(choices=ProgressReport.Kind.choices)
    state = django_filters.ChoiceFilter(choices=ProgressReport.State.choices)

    class Meta:
        model = ProgressReport
        fields = ["allocation", "project", "kind", "state"]


class AwardRequestFilter(django_filters.FilterSet):
    allocation = IdFilter(field_name="allocation", help_text="Allocation id.")
    project = IdFilter(field_name="allocation__project", help_text="Project id.")
    kind = django_filters.ChoiceFilter(choices=AwardRequest.Kind.choices)
    state = django_filters.ChoiceFilter(choices=AwardRequest.State.choices)

    class Meta:
        model = AwardRequest
        fields = ["allocation", "project", "kind", "state"]


class JobFilter(django_filters.FilterSet):
    allocation = IdFilter(field_name="allocation", help_text="Allocation id.")
    project = IdFilter(field_name="allocation__project", help_text="Project id.")
    pool = django_filters.CharFilter(field_name="pool__name", max_length=63, help_text="Pool name.")
    state = django_filters.ChoiceFilter(choices=TrainingJob.State.choices)

    class Meta:
        model = TrainingJob
        fields = ["allocation", "project", "pool", "state"]
