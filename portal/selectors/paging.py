"""Reading a page of a long list without joining every row of it.

For `select_related(...).order_by(...)[a:b]`, PostgreSQL joins the related tables to every row that
matches before sorting them to keep one page: on the portal's lists that was most of a page's query
time (benchmarks/pages.py). Here the order is taken on bare ids first, and only the page's rows are
read whole: two small queries instead of one wide one.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet


def rows_by_id(queryset: QuerySet[Any], ids: list[Any]) -> list[Any]:
    """The rows of `queryset` with these ids, in the order of `ids`, read whole (select_related,
    annotations, prefetch_related as the queryset has them)."""
    found = queryset.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def head(queryset: QuerySet[Any], count: int) -> list[Any]:
    """The first `count` rows of an ordered queryset, read as `IdFirstPaginator` reads a page."""
    return rows_by_id(queryset, list(queryset.values_list("pk", flat=True)[:count]))


class IdFirstPaginator(Paginator):
    """A Paginator over an ordered queryset that sorts and slices ids, then reads the page's rows
    whole. Works wherever Django's does, DRF's PageNumberPagination included."""

    def page(self, number: Any) -> Page[Model]:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        queryset: QuerySet[Any] = self.object_list  # type: ignore[assignment]
        ids = list(queryset.values_list("pk", flat=True)[bottom:top])
        return Page(rows_by_id(queryset, ids), number, self)
