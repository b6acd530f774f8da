"""Forms of the account pages."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from portal.models import User


class ApplicantSignUpForm(UserCreationForm):
    """Sign-up creates applicants only; reviewers and maintainers are appointed by maintainers."""

    email = forms.EmailField(required=True)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email", "first_name", "last_name", "affiliation")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email address already exists.")
        return email
