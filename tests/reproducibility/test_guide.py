"""The checks' guide: one whole entry per registered check, and the public page each entry makes."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from reproducibility import guide
from reproducibility.checks import CATEGORIES, all_checks
from reproducibility.templatetags.guide_text import code_spans

ENTRY = {
    "counts": "A `requirements.txt`.",
    "pass": "It pins.",
    "partial": "Never given.",
    "fail": "It does not.",
    "not_applicable": "No Python code.",
    "why": "Because.",
}


def page_text(html: str) -> str:
    """What a reader sees: tags gone, entities decoded, whitespace collapsed."""
    return " ".join(unescape(strip_tags(html)).split())


def plain(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def write_guide(tmp_path, entries):  # type: ignore[no-untyped-def]
    import yaml

    path = tmp_path / "guide.yaml"
    path.write_text(yaml.safe_dump(entries))
    return path


def test_every_registered_check_has_a_whole_entry_and_every_entry_a_check():
    assert guide.problems() == []


def test_the_guide_problems_name_missing_entries_fields_and_checks(tmp_path):
    checks = [check.id for check in all_checks()]
    entries = {check_id: dict(ENTRY) for check_id in checks[1:]}
    entries[checks[1]].pop("why")
    entries[checks[2]]["fail"] = "  "
    entries[checks[3]]["example"] = "not a field"
    entries["no-such-check"] = dict(ENTRY)
    found = guide.problems(write_guide(tmp_path, entries))
    assert sorted(found) == sorted(
        [
            f"{checks[0]}: no entry in the guide",
            "no-such-check: no such check is registered",
            f"{checks[1]}: why is missing or empty",
            f"{checks[2]}: fail is missing or empty",
            f"{checks[3]}: example is not a field of the guide",
        ]
    )


def test_an_unreadable_guide_is_one_problem_not_a_crash(tmp_path):
    path = tmp_path / "guide.yaml"
    path.write_text("dependency-manifest:\n  not_applicable: Never: a colon in a plain scalar\n")
    (problem,) = guide.problems(path)
    assert problem.startswith("guide.yaml cannot be read: mapping values are not allowed here")


def test_the_guide_is_read_once_per_process():
    guide._parse.cache_clear()
    assert guide.load() is guide.load()
    assert guide._parse.cache_info().misses == 1


@pytest.mark.django_db
def test_the_index_lists_every_check_by_category_without_signing_in(client):
    response = client.get(reverse("checks:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1 and "Reproducibility checks" in html
    for check in all_checks():
        assert f'href="{reverse("checks:detail", args=[check.id])}"' in html, check.id
    shown = [category for category in CATEGORIES if f">{category}</h2>" in html]
    assert shown == sorted({check.category for check in all_checks()}, key=CATEGORIES.index)
    assert "Levels" in html and "gold" in html.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("check", all_checks(), ids=lambda check: check.id)
def test_each_check_has_a_public_page_with_its_whole_guide_entry_and_remedy(client, check):
    response = client.get(reverse("checks:detail", args=[check.id]))
    assert response.status_code == 200
    html = response.content.decode()
    text = page_text(html)
    entry = guide.load().entries[check.id]
    assert check.title in text and check.category in text and f"weight {check.weight}" in text
    for field in guide.FIELDS:
        assert plain(entry[field]) in text, field
    assert " ".join(check.remedy.split()) in text  # the registration's remedy, verbatim
    assert "Not documented yet" not in text


@pytest.mark.django_db
def test_a_check_page_has_one_heading_one_and_every_section_labelled_by_a_heading(client):
    html = client.get(reverse("checks:detail", args=["global-seed"])).content.decode()
    assert html.count("<h1") == 1
    sections = re.findall(r"<section([^>]*)>", html)
    assert len(sections) == 4
    for attributes in sections:
        (label,) = re.findall(r'aria-labelledby="([^"]+)"', attributes)
        assert re.search(rf'<h2 id="{label}">', html)
    for heading in ("What counts", "What each status means", "How to fix it", "Why it matters"):
        assert f">{heading}</h2>" in html
    assert "<script" not in html.split("</head>")[1]  # readable without JavaScript


@pytest.mark.django_db
def test_an_unknown_check_is_not_found(client):
    assert client.get("/checks/no-such-check/").status_code == 404


@pytest.mark.django_db
def test_a_check_page_says_which_levels_require_it(client):
    text = page_text(client.get(reverse("checks:detail", args=["global-seed"])).content.decode())
    assert "Required for level silver (at least pass)" in text


def test_code_spans_escape_the_text_before_marking_code():
    assert code_spans("use `a<b>` not <i>") == "use <code>a&lt;b&gt;</code> not &lt;i&gt;"


def test_each_status_is_explained_by_its_own_line_of_the_guide():
    entry = guide.load().entries["global-seed"]
    assert guide.status_meaning("global-seed", "pass") == ("A pass means", entry["pass"])
    assert guide.status_meaning("global-seed", "partial") == ("Partial means", entry["partial"])
    assert guide.status_meaning("global-seed", "fail") == ("A fail means", entry["fail"])
    assert guide.status_meaning("global-seed", "not_applicable") == ("Why it does not apply", entry["not_applicable"])
    label, sentence = guide.status_meaning("global-seed", "error")
    assert label and "fault of the checker" in sentence


def test_a_status_the_guide_says_is_never_given_gets_no_contradicting_sentence():
    entries = guide.load().entries
    never = [(c.id, s) for c in all_checks() for s in guide.STATUS_FIELDS if entries[c.id][s].startswith("Never")]
    assert never  # the guide has such lines (`partial: Never given.`)
    for check_id, status in never:
        assert guide.status_meaning(check_id, status) == ("", "")
    assert guide.status_meaning("a-removed-check", "pass") == ("", "")
