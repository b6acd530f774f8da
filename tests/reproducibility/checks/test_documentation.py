"""Documentation by mechanism: README sections by their synonyms in Markdown, reStructuredText and
plain text, results as tables or numbers, commands in every kind of code block; licences by their
text against the SPDX list; citations anywhere in the documentation."""

from __future__ import annotations

import pytest

from reproducibility.checks import REGISTRY, Status, all_checks
from reproducibility.repo_view import RepoView
from tests.reproducibility.conftest import MIT_LICENCE

all_checks()


def run(make_repo, check_id: str, files: dict):
    return REGISTRY[check_id].run(RepoView(make_repo(files)))


# --- readme ------------------------------------------------------------------------------------

MARKDOWN = """# Toy detector

## Prerequisites

A GPU helps.

## Getting started

    $ python train.py --epochs 3

## Performance

Our model reaches 71.3 mAP on the toy set.
"""

RST = """Toy detector
============

Installation
------------

Install it::

    pip install toy-detector

Quick start
-----------

.. code-block:: bash

    python -m toy.train --epochs 3

Results
-------

+--------+----------+
| model  | accuracy |
+========+==========+
| small  | 0.91     |
+--------+----------+
"""

PLAIN = """TOY DETECTOR

Setup: pip install -r requirements.txt

How to run
----------
<pre>
python train.py
</pre>

<table><tr><td>top-1</td><td>76.5 %</td></tr></table>
"""


@pytest.mark.parametrize(
    ("name", "text"), [("README.md", MARKDOWN), ("README.rst", RST), ("readme.txt", PLAIN)], ids=["md", "rst", "txt"]
)
def test_a_readme_with_all_four_parts_passes_in_any_markup(make_repo, name, text):
    result = run(make_repo, "readme", {name: text})
    assert result.status == Status.PASS, result.reason


def test_a_results_section_of_images_only_is_no_results(make_repo):
    text = MARKDOWN.replace("Our model reaches 71.3 mAP on the toy set.", "![samples](img/samples_64x64.png)")
    result = run(make_repo, "readme", {"README.md": text})
    assert result.status == Status.PARTIAL and "lacks results" in result.reason


def test_a_table_of_sample_images_under_a_results_heading_is_no_results(make_repo):
    text = MARKDOWN.replace(
        "Our model reaches 71.3 mAP on the toy set.",
        "### Toy set\n\nInput | Output\n:---: | :---:\n<img src='a.png'> | <img src='b.png'>\n",
    )
    result = run(make_repo, "readme", {"README.md": text})
    assert result.status == Status.PARTIAL and "lacks results" in result.reason


def test_a_table_under_a_results_heading_reporting_counts_is_results(make_repo):
    text = MARKDOWN.replace(
        "Our model reaches 71.3 mAP on the toy set.",
        "### Toy set\n\nModel | Correct\n:---: | :---:\nsmall | 912\n",
    )
    assert run(make_repo, "readme", {"README.md": text}).status == Status.PASS


def test_a_table_of_model_names_is_no_results(make_repo):
    table = "| name | backbone |\n| --- | --- |\n| a | VGG 16 |\n"
    text = f"# X\n\n## Install\n\n```\npip install x\n```\n\n## Models\n\n{table}"
    result = run(make_repo, "readme", {"README.md": text})
    assert result.status == Status.PARTIAL and "results" in result.reason and "usage" in result.reason


def test_python_code_in_a_fence_is_no_shell_command(make_repo):
    text = "# X\n\n## Usage\n\n```python\nimport x\nx.fit()\n```\n"
    result = run(make_repo, "readme", {"README.md": text})
    assert result.status == Status.FAIL and "commands" in result.reason


def test_a_readme_in_a_subfolder_only_is_no_readme(make_repo):
    assert run(make_repo, "readme", {"docs/README.md": MARKDOWN}).status == Status.FAIL


# --- licence -----------------------------------------------------------------------------------

APACHE_NOTICE = """Copyright 2026 The Toy Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("LICENSE", MIT_LICENCE),
        ("licence.txt", MIT_LICENCE),
        ("COPYING.md", MIT_LICENCE),
        ("LICENSE", APACHE_NOTICE),
        ("LICENSE", "Copyright (c) 2026 Toy\n\n" + MIT_LICENCE + "\nAll rights reserved by the contributors.\n"),
    ],
    ids=["mit", "licence-txt", "copying", "apache-notice", "extra-copyright-notices"],
)
def test_a_standard_licence_text_passes(make_repo, name, text):
    result = run(make_repo, "licence", {name: text})
    assert result.status == Status.PASS, result.reason


def test_a_licence_with_an_inserted_clause_is_partial_and_says_so(make_repo):
    text = MIT_LICENCE.replace(
        "subject to the following conditions:", "subject to the following conditions:\n\nNo commercial use."
    )
    result = run(make_repo, "licence", {"LICENSE": text})
    assert result.status == Status.PARTIAL and "modified" in result.reason


def test_a_licence_with_added_terms_is_partial_and_quotes_them(make_repo):
    text = (
        MIT_LICENCE + "\nThe Software may not be used to train commercial models, nor to build weapons of any kind.\n"
    )
    result = run(make_repo, "licence", {"LICENSE": text})
    assert result.status == Status.PARTIAL and "train commercial models" in result.reason


def test_a_recognised_licence_that_is_not_open_source_is_partial(make_repo):
    text = MIT_LICENCE.replace(
        "copies or substantial portions of the Software.\n",
        "copies or substantial portions of the Software.\n\nThe Software shall be used for Good, not Evil.\n",
    )
    result = run(make_repo, "licence", {"LICENSE": text})
    assert result.status == Status.PARTIAL and "JSON" in result.reason and "not open source" in result.reason


@pytest.mark.parametrize(
    "files",
    [
        {"setup.py": "from setuptools import setup\nsetup(name='x', license='MIT')\n"},
        {"setup.py": "from setuptools import setup\nsetup(classifiers=['License :: OSI Approved :: MIT License'])\n"},
        {"pyproject.toml": '[project]\nname = "x"\nlicense = "Apache-2.0"\n'},
        {"setup.cfg": "[metadata]\nlicense = BSD-3-Clause\n"},
        {"README.md": "# X\n\n## License\n\nMIT, see the header of each file.\n"},
    ],
    ids=["setup.py", "classifier", "pyproject", "setup.cfg", "readme-section"],
)
def test_a_licence_named_only_in_metadata_or_the_readme_is_partial(make_repo, files):
    result = run(make_repo, "licence", files)
    assert result.status == Status.PARTIAL, result.reason


def test_a_licence_only_inside_a_subfolder_is_no_licence(make_repo):
    assert run(make_repo, "licence", {"vendor/lib/LICENSE": MIT_LICENCE}).status == Status.FAIL


# --- citation ----------------------------------------------------------------------------------

BIBTEX = "@inproceedings{\ntoy2026,\n  title={Toy},\n  author={A. Author},\n  year={2026}\n}\n"


@pytest.mark.parametrize(
    "files",
    [
        {"docs/CITATION.cff": "cff-version: 1.2.0\ntitle: Toy\nauthors:\n  - name: A\n"},
        {"models/small/README.md": f"# Small\n\n```\n{BIBTEX}```\n"},
        {"docs/paper.rst": f"Cite\n====\n\n::\n\n    {BIBTEX}"},
        {"paper/refs.bib": BIBTEX},
    ],
    ids=["cff-anywhere", "subfolder-readme", "rst-doc", "bib-file"],
)
def test_a_citation_anywhere_in_the_documentation_passes(make_repo, files):
    result = run(make_repo, "citation", files)
    assert result.status == Status.PASS, result.reason


@pytest.mark.parametrize(
    "files",
    [
        {"README.md": "Code for [our paper](https://arxiv.org/abs/2601.01234).\n"},
        {"tools/README.md": "See doi:10.1234/toy.5678 for the method.\n"},
        {"CITATION.cff": "cff-version: 1.2.0\ntitle: Toy\n"},
    ],
    ids=["arxiv", "doi-in-a-subfolder-readme", "cff-without-authors"],
)
def test_a_paper_link_or_an_incomplete_cff_is_partial(make_repo, files):
    result = run(make_repo, "citation", files)
    assert result.status == Status.PARTIAL, result.reason


def test_an_email_address_is_no_bibtex_entry(make_repo):
    result = run(make_repo, "citation", {"README.md": "Write to toy@example.org{,} for help.\n"})
    assert result.status == Status.FAIL


def test_text_after_the_end_of_terms_is_the_licences_own_appendix_not_an_added_term():
    from reproducibility.licences import identify
    from tests.reproducibility.conftest import MIT_LICENCE

    appendix = "If you develop a new program, and you want it to be of use, apply these terms to it."
    assert identify(f"{MIT_LICENCE}\n\nEND OF TERMS AND CONDITIONS\n\n{appendix}\n").added == ""
    assert identify(f"{MIT_LICENCE}\n\n{appendix}\n").added == appendix  # without the end mark: a term added
