"""The portal's forms, one module per area (accounts, projects and applications, reviews, calls)."""

from portal.forms.accounts import ApplicantSignUpForm

__all__ = ["ApplicantSignUpForm"]
