"""IdFirstPaginator and head(): the same pages as Django's Paginator, read in two small queries."""

import pytest
from django.core.paginator import Paginator
from django.db.models import F, Value
from django.db.models.functions import Concat

from portal.models import Project
from portal.selectors.paging import IdFirstPaginator, head
from tests.scheduler.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects():  # type: ignore[no-untyped-def]
    owners = [UserFactory(), UserFactory()]
    for i, name in enumerate(["b", "a", "d", "c", "a", "e", "f"]):
        ProjectFactory(name=name, owner=owners[i % 2])
    return (
        Project.objects.select_related("owner")
        .prefetch_related("members")
        .annotate(label=Concat(F("name"), Value("/"), F("owner__username")))
        .order_by("-name", "pk")
    )


@pytest.mark.parametrize(("per_page", "orphans"), [(3, 0), (3, 1), (2, 0), (7, 0), (10, 0)])
def test_every_page_holds_what_djangos_paginator_gives(projects, per_page, orphans):  # type: ignore[no-untyped-def]
    ours, django = IdFirstPaginator(projects, per_page, orphans), Paginator(projects, per_page, orphans)
    assert (ours.count, ours.num_pages) == (django.count, django.num_pages)
    for number in ours.page_range:
        page, expected = ours.page(number), django.page(number)
        assert [p.pk for p in page] == [p.pk for p in expected]
        assert [p.label for p in page] == [p.label for p in expected]  # annotations kept
        assert (page.start_index(), page.end_index(), page.has_next()) == (
            expected.start_index(),
            expected.end_index(),
            expected.has_next(),
        )


def test_a_page_is_read_in_two_queries_with_its_related_rows(projects, django_assert_num_queries):  # type: ignore[no-untyped-def]
    paginator = IdFirstPaginator(projects, 3)
    assert paginator.count == 7
    with django_assert_num_queries(3):  # ids, rows with their owners, the members prefetched
        page = paginator.get_page(2)
        names = [(p.name, p.owner.username, list(p.members.all())) for p in page]
    assert [name for name, _, _ in names] == ["c", "b", "a"]


def test_out_of_range_and_bad_page_numbers_fall_back_like_djangos(projects):  # type: ignore[no-untyped-def]
    paginator = IdFirstPaginator(projects, 3)
    assert paginator.get_page(99).number == 3 and paginator.get_page("x").number == 1
    assert [p.name for p in paginator.get_page(99)] == ["a"]


def test_head_is_the_start_of_the_ordered_list(projects):  # type: ignore[no-untyped-def]
    assert [p.pk for p in head(projects, 4)] == [p.pk for p in projects[:4]]
    assert head(projects.filter(name="zzz"), 4) == []
