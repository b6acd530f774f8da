"""Scores: weighted, renormalised, levelled, deterministic; the reference project is gold."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
from django.utils import timezone

from reproducibility.checks import Status
from reproducibility.python_facts import PythonFacts
from reproducibility.repo_view import RepoView
from reproducibility.scorecard import SCHEMA, to_scorecard
from reproducibility.scoring import level_for, score_tree
from tests.reproducibility.conftest import GOOD_FILES

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"


def statuses(scored):
    return {o.check.id: o.result.status for o in scored.outcomes}


def test_the_reference_project_scores_gold():
    scored = score_tree(DIGITS)
    assert scored.level == "gold", [
        (o.check.id, o.result.reason)
        for o in scored.outcomes
        if o.result.status not in (Status.PASS, Status.NOT_APPLICABLE)
    ]
    assert scored.score >= 95


def test_a_good_fixture_scores_gold_and_a_poor_one_scores_low_for_the_right_reasons(make_repo):
    good = score_tree(make_repo(GOOD_FILES))
    assert good.level == "gold" and good.score >= 90, [(o.check.id, o.result.reason) for o in good.outcomes]
    poor = score_tree(
        make_repo(
            {
                "model.py": "import tensorflow.compat.v1 as tf\nimport pickle\nx = tf.placeholder(tf.float32)\n"
                "data = pickle.load(open('/home/me/data.pkl', 'rb'))\n",
            }
        )
    )
    assert poor.score < 20 and poor.level == "none"
    failed = {check for check, status in statuses(poor).items() if status == Status.FAIL}
    assert {
        "dependency-manifest",
        "licence",
        "readme",
        "tf2-idioms",
        "global-seed",
        "unsafe-deserialisation",
        "no-absolute-paths",
        "training-entrypoint",
        "checkpoints",
    } <= failed


def test_not_applicable_checks_are_left_out_of_the_score(make_repo):
    plain = score_tree(make_repo({"README.md": "# x\n", "tool.py": "print(1)\n"}))
    assert statuses(plain)["op-determinism"] == Status.NOT_APPLICABLE
    applicable = [o for o in plain.outcomes if o.applicable]
    expected = round(100 * sum(o.points for o in applicable) / sum(o.check.weight for o in applicable), 1)
    assert plain.score == expected


def test_the_same_tree_gives_the_same_report(make_repo):
    root = make_repo(GOOD_FILES)
    when = timezone.now()
    first = to_scorecard(score_tree(root), repo="r", commit="c", date=when)
    second = to_scorecard(score_tree(root), repo="r", commit="c", date=when)
    assert first == second


def test_levels_need_their_required_checks_not_just_the_score():
    all_pass = {
        check: Status.PASS
        for check in (
            "dependency-manifest",
            "licence",
            "readme",
            "python-parses",
            "dependency-pinning",
            "global-seed",
            "training-entrypoint",
            "checkpoints",
            "container",
            "tests-and-ci",
            "savedmodel-export",
            "op-determinism",
            "versions-declared",
        )
    }
    assert level_for(99, all_pass) == "gold"
    assert level_for(99, {**all_pass, "checkpoints": Status.PARTIAL}) == "bronze"
    assert level_for(99, {**all_pass, "licence": Status.FAIL}) == "none"
    assert level_for(70, all_pass) == "silver"


def test_the_scorecard_export_validates_against_its_schema(make_repo):
    report = to_scorecard(
        score_tree(make_repo(GOOD_FILES)), repo="https://github.com/x/y", commit="abc", date=timezone.now()
    )
    jsonschema.validate(report, SCHEMA)
    assert {c["status"] for c in report["checks"]} <= {"pass", "partial", "fail", "not_applicable", "error"}


def test_the_same_tree_gives_the_same_report_whatever_the_hash_seed(make_repo):
    """Sets of paths iterate in a per-process order: a report built from one would change from run to run."""
    import subprocess
    import sys

    files: dict[str, str] = {}
    for project in ("det", "cls"):  # a monorepo: each project's evidence is what its entry point reaches
        files |= {f"{project}/README.md": "# p\n", f"{project}/requirements.txt": "tensorflow==2.15.0\n"}
        files[f"{project}/main.py"] = "import a, b, c, d, e, f\nif __name__ == '__main__':\n    a.go()\n"
        files |= {f"{project}/{m}.py": "def go():\n    model.evaluate(x)\n    model.fit(y)\n" for m in "abcdef"}
    root = make_repo(files)
    program = (
        "import json, sys\nfrom reproducibility.scoring import score_tree\n"
        "s = score_tree(sys.argv[1])\n"
        "print(json.dumps([(o.check.id, o.result.reason, [e.path for e in o.result.evidence]) for o in s.outcomes]))\n"
    )
    reports = {
        subprocess.run(
            [sys.executable, "-c", program, str(root)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed), "DJANGO_SETTINGS_MODULE": "config.settings"},
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(reports) == 1


def test_scoring_leaves_nothing_for_the_cycle_collector_and_restores_it(make_repo):
    """score_tree keeps the collector off while it runs (its full passes over the growing facts cost
    more than the parsing): that is only sound while scoring makes no reference cycles."""
    import gc

    cell = {"cell_type": "code", "source": "import tensorflow as tf\nmodel.fit(x)\n", "metadata": {}, "outputs": []}
    notebook = {"cells": [cell, cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    repo = make_repo({**GOOD_FILES, "explore.ipynb": json.dumps(notebook)})
    gc.collect()
    gc.disable()
    views_before = _views_alive()  # other tests' views may live on: only this scoring's count
    try:
        score_tree(repo)
        assert not gc.isenabled()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds, kept for a look
        gc.collect()
        cycles = [o for o in gc.garbage if type(o) in (RepoView, PythonFacts)]
        assert not cycles, "scoring left reference cycles: the view would outlive score_tree"
        assert _views_alive() <= views_before, "a view outlived its scoring"
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    score_tree(repo)
    assert gc.isenabled()


def _views_alive() -> set[int]:
    import gc

    # type(), not isinstance(): a lazy object (a CSP nonce) answers __class__ by evaluating itself.
    return {id(o) for o in gc.get_objects() if type(o) is RepoView}
