"""Account services: creating users in their roles."""

from __future__ import annotations

from django.db import transaction

from portal import roles
from portal.forms import ApplicantSignUpForm
from portal.models import User


@transaction.atomic
def sign_up_applicant(form: ApplicantSignUpForm) -> User:
    """Create the account from a valid sign-up form and make it an applicant."""
    user = form.save()
    roles.assign_role(user, roles.APPLICANT)
    return user
