"""Figures about each row of a list, read as correlated subqueries.

`Count("applications")` and the like join every related row the listed rows ever had and group
them; on the portal's lists that grew with the whole history (the reviewer candidates grouped all
8,277 assignments for 17 reviewers: 6.3 ms in benchmarks/pages.py). A subquery per row reads only
that row's related rows, on the index of the link. Count them with `Count("*")`: counting a
column the index does not hold (`Count("pk")`) reads every row from the table, not the index alone.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce


def of_row(related: QuerySet[Any], link: str, aggregate: Any, output_field: Any = None) -> Subquery:
    """`aggregate` over the `related` rows whose `link` is the outer row; None where there are none."""
    grouped = related.filter(**{link: OuterRef("pk")}).order_by().values(link)
    return Subquery(grouped.annotate(value=aggregate).values("value"), output_field=output_field)


def per_row(related: QuerySet[Any], link: str, aggregate: Aggregate) -> Coalesce:
    """`of_row`, 0 where there are no related rows: for counts and sums."""
    return Coalesce(of_row(related, link, aggregate), 0)
