"""Long paths, URLs and commands that wrap at their separators instead of widening the page."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# After a path or URL separator, and before an option's dashes or a query's parts: where a reader expects a break.
SEPARATORS = re.compile(r"(?<=[/\\])|(?<=[?&=,])|(?= --?[\w])")


@register.filter
def breakable(value: object) -> SafeString:
    """The text escaped, with a line-break opportunity (<wbr>) at each separator."""
    return mark_safe("<wbr>".join(escape(part) for part in SEPARATORS.split(str(value or ""))))  # noqa: S308
