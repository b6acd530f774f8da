"""Accelerator-seconds shown as the accelerator-hours people read."""

from django import template

register = template.Library()


@register.filter
def hours(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds / 3600:,.2f}"


@register.filter
def signed_hours(seconds: int) -> str:
    return f"{seconds / 3600:+,.2f}"
