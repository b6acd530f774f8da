"""Forms of the review page: the rubric, and declining or declaring a conflict of interest.

They parse input; what a complete review is (every criterion scored, a comment, a known
recommendation) is for portal.services.reviews to decide and explain.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms

from portal.forms.validators import MAX_HOURS
from portal.models import Review, RubricCriterion
from portal.services.reviews import SCORE_RANGE

HOUR = 3600
SCORE_CHOICES = [(value, str(value)) for value in SCORE_RANGE]


def _weight(criterion: RubricCriterion) -> str:
    return f"{criterion.weight:g}"


class ReviewForm(forms.Form):
    """One 1-5 score per criterion of the call's rubric, the comments, a recommendation and hours."""

    comment_to_applicant = forms.CharField(
        label="Comment to the applicant",
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Sent to the applicant with the decision, without your name.",
    )
    confidential_comment = forms.CharField(
        label="Confidential comment to the maintainers",
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Seen by maintainers only.",
    )
    recommendation = forms.ChoiceField(
        choices=Review.Recommendation.choices, widget=forms.RadioSelect, label="Recommendation"
    )
    recommended_hours = forms.DecimalField(
        label="Recommended accelerator-hours",
        max_digits=12,
        decimal_places=2,
        min_value=0,
        max_value=MAX_HOURS,
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "step": "any"}),
        help_text="What you would award; empty for none.",
    )

    def __init__(self, *args: Any, criteria: Iterable[RubricCriterion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        # Scores first, in the rubric's order. Optional here so that portal.services.reviews names every missing one.
        score_fields = {
            self.field_name(criterion): forms.TypedChoiceField(
                label=criterion.name,
                choices=SCORE_CHOICES,
                coerce=int,
                required=False,
                widget=forms.RadioSelect,
                help_text=f"{criterion.description} (weight {_weight(criterion)})".strip(),
            )
            for criterion in self.criteria
        }
        self.fields = {**score_fields, **self.fields}

    @staticmethod
    def field_name(criterion: RubricCriterion) -> str:
        return f"score_{criterion.pk}"

    def score_fields(self) -> list[tuple[RubricCriterion, forms.BoundField]]:
        return [(criterion, self[self.field_name(criterion)]) for criterion in self.criteria]

    def scores(self) -> dict[int, int]:
        """The scores given, by criterion id (the ones left blank are absent)."""
        given = {c.pk: self.cleaned_data.get(self.field_name(c)) for c in self.criteria}
        return {pk: score for pk, score in given.items() if score not in (None, "")}

    def recommended_seconds(self) -> int:
        hours = self.cleaned_data.get("recommended_hours") or Decimal(0)
        return round(hours * HOUR)


class ReasonForm(forms.Form):
    """Why the reviewer declines, or what the conflict of interest is."""

    reason = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
