"""Account services: creating users in their roles."""

from __future__ import annotations

from django.db import transaction

from portal.access import roles
from portal.forms import ApplicantSignUpForm
from portal.models import User
from portal.services import invitations


@transaction.atomic
def sign_up_applicant(form: ApplicantSignUpForm) -> User:
    """Create the account from a valid sign-up form and make it an applicant.

    Invitations sent to its email address before it existed become its own (see portal.services.invitations).
    """
    user = form.save()
    roles.assign_role(user, roles.APPLICANT)
    invitations.bind_to_account(user)
    return user
