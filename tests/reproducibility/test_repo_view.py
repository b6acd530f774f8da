"""The repository view: each file read once, and hostile files become problems, not crashes."""

from __future__ import annotations

import json
import os
import socket
import stat

from reproducibility.checks import REGISTRY, Status, all_checks
from reproducibility.repo_view import MAX_PARSE_BYTES, RepoView
from reproducibility.scoring import score_tree
from tests.reproducibility.conftest import notebook


def test_binary_huge_non_utf8_and_broken_files_are_problems_not_crashes(make_repo):
    root = make_repo(
        {
            "ok.py": "import os\n",
            "binary.py": b"\x00\x01\x02import os",
            "latin1.py": "x = 'café'\n".encode("latin-1"),
            "broken.py": "def f(:\n",
            "huge.py": "x = 1\n" * (MAX_PARSE_BYTES // 6 + 10),
            "bad.ipynb": "{not json",
            "pyproject.toml": "[project\nname=",
            "environment.yml": "dependencies: [unclosed",
        }
    )
    scored = score_tree(root)
    problems = {p["path"]: p["reason"] for p in scored.problems}
    assert problems["binary.py"] == "binary file"
    assert problems["latin1.py"].startswith("not UTF-8")
    assert problems["broken.py"].startswith("syntax error")
    assert "not parsed" in problems["huge.py"]
    assert problems["bad.ipynb"].startswith("not a notebook")
    assert problems["pyproject.toml"].startswith("invalid TOML")
    assert problems["environment.yml"].startswith("invalid YAML")
    statuses = {o.check.id: o.result.status for o in scored.outcomes}
    assert statuses["python-parses"] == Status.FAIL
    assert Status.ERROR not in statuses.values()


def test_symlinks_are_listed_but_never_followed(make_repo, tmp_path):
    outside = tmp_path / "secret.py"
    outside.write_text("import tensorflow as tf\ntf.keras.utils.set_random_seed(1)\n")
    root = make_repo({"inside.py": "x = 1\n"})
    os.symlink(outside, root / "escape.py")
    os.symlink(root / "inside.py", root / "alias.py")
    os.symlink("/etc", root / "etc")
    view = RepoView(root)
    assert {"escape.py", "alias.py", "etc", "inside.py"} <= view.paths
    assert view.python("escape.py") is None and "not followed" in view.problems["escape.py"].reason
    scored = score_tree(root)
    statuses = {o.check.id: o.result for o in scored.outcomes}
    assert statuses["global-seed"].status == Status.FAIL  # the seed lives outside the repository
    hygiene = statuses["repository-hygiene"]
    assert hygiene.status == Status.FAIL and {e.path for e in hygiene.evidence} == {"escape.py", "etc"}


def test_each_file_is_read_once_whatever_the_number_of_checks(make_repo, monkeypatch):
    root = make_repo({"train.py": "import tensorflow as tf\nmodel.fit(x)\n", "README.md": "# x\n"})
    opened: list[str] = []
    original = os.open

    def counting(path, *args, **kwargs):
        opened.append(os.path.basename(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting)
    score_tree(root)
    assert opened.count("train.py") == 1 and opened.count("README.md") == 1


def test_a_fifo_or_deeply_nested_code_is_a_problem_not_a_hang_or_a_crash(make_repo):
    root = make_repo({"ok.py": "import os\n", "deep.py": "x = " + "-" * 200_000 + "1\n"})
    os.mkfifo(root / "pipe.py")  # opening it for reading would block until a writer came
    scored = score_tree(root)
    problems = {p["path"]: p["reason"] for p in scored.problems}
    assert problems["pipe.py"] == "not a regular file: FIFO"
    assert problems["deep.py"] == "unparsable: nested too deeply"
    statuses = {o.check.id: o.result.status for o in scored.outcomes}
    assert statuses["python-parses"] == Status.FAIL and Status.ERROR not in statuses.values()


def test_files_are_listed_in_a_stable_order_folders_after_their_files(make_repo):
    root = make_repo({"b.py": "", "a/z.py": "", "a/b/c.py": "", "a.py": "", ".git/config": "", "c/.hidden": ""})
    assert [e.path for e in RepoView(root).files] == ["a.py", "b.py", "a/z.py", "a/b/c.py", "c/.hidden"]


def test_the_first_use_is_found_in_file_order_at_its_first_line(make_repo):
    root = make_repo(
        {
            "a.py": "import tensorflow as tf\n\n\ntf.random.set_seed(1)\ntf.random.set_seed(2)\n",
            "b.py": "from tensorflow.random import set_seed\nset_seed(3)\n",
        }
    )
    view = RepoView(root)
    assert [(loc.path, loc.line) for loc in view.find_all("tensorflow.random")] == [("a.py", 4), ("b.py", 1)]
    assert view.find_use("tensorflow.random.set_seed", "numpy.random.seed") == view.find_all("tensorflow.random")[0]
    assert view.find_use("tensorflow.rand") is None  # a prefix of a name, not of a dotted part


def test_fifos_sockets_and_devices_are_problems_by_kind_never_listed_nor_opened(make_repo):
    root = make_repo({"train.py": "import os\n"})
    os.mkfifo(root / "pipe")  # no reader would ever come: opening it blocking would hang
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "control.sock"))
    devices = {}
    try:
        os.mknod(root / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        devices = {"null": "not a regular file: character device"}
    except PermissionError:  # creating a device needs CAP_MKNOD
        pass
    view = RepoView(root)
    assert [entry.path for entry in view.files] == ["train.py"]
    assert {path: p.reason for path, p in view.problems.items()} == {
        "pipe": "not a regular file: FIFO",
        "control.sock": "not a regular file: socket",
        **devices,
    }
    assert view.text("control.sock") is None  # a check asking by name gets the same answer
    assert view.problems["control.sock"].reason == "not a regular file: socket"


def test_names_that_are_not_utf8_are_problems_shown_escaped_and_the_report_stays_valid_json(make_repo):
    root = make_repo({"train.py": "import tensorflow as tf\nmodel.fit(x)\n"})
    (root / os.fsdecode(b"caf\xe9.py")).write_bytes(b"import os\n")  # as open(b".../caf\xe9.py") makes it
    (root / os.fsdecode(b"d\xe9")).mkdir()
    (root / os.fsdecode(b"d\xe9") / "inner.py").write_bytes(b"import os\n")
    view = RepoView(root)
    assert [entry.path for entry in view.files] == ["train.py"]
    scored = score_tree(root)
    assert {p["path"]: p["reason"] for p in scored.problems} == {
        "caf\\xe9.py": "file name is not valid UTF-8: not read",
        "d\\xe9": "folder name is not valid UTF-8: not read",
    }
    json.dumps(scored.problems, ensure_ascii=False).encode("utf-8")  # storable and printable as it is
    assert Status.ERROR not in {o.result.status for o in scored.outcomes}


def test_a_symlink_loop_is_listed_as_links_and_hides_nothing(make_repo):
    root = make_repo({"train.py": "import os\n", "pkg/model.py": "import os\n"})
    os.symlink("self", root / "self")
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    view = RepoView(root)
    assert [entry.path for entry in view.files] == ["a", "b", "self", "train.py", "pkg/model.py"]
    assert view.text("self") is None and view.problems["self"].reason == "symbolic link: not followed"
    all_checks()
    hygiene = REGISTRY["repository-hygiene"].run(view)  # a loop leads nowhere inside: no error, a finding
    assert hygiene.status == Status.FAIL and {"a", "b", "self"} <= {e.path for e in hygiene.evidence}


def test_unreadable_files_and_folders_are_problems(make_repo, permissions_enforced):
    root = make_repo({"train.py": "import os\n", "secret.py": "import os\n", "locked/inner.py": "import os\n"})
    (root / "secret.py").chmod(0)
    (root / "locked").chmod(0)
    try:
        scored = score_tree(root)
    finally:
        (root / "locked").chmod(0o755)
    problems = {p["path"]: p["reason"] for p in scored.problems}
    assert problems["secret.py"] == "unreadable: Permission denied"
    assert problems["locked"] == "unreadable folder: Permission denied"


def test_folders_nested_past_what_a_path_can_name_are_a_problem_not_silently_dropped(make_repo, nest):
    root = nest(make_repo({"train.py": "import os\n"}), 2100)  # "d/" x 2100: past PATH_MAX (4096)
    view = RepoView(root)
    assert [entry.path for entry in view.files] == ["train.py"]  # x.py lies beyond the problem
    [(where, problem)] = view.problems.items()
    assert where.startswith("d/d/") and problem.reason.startswith("unreadable folder: nested too deeply")


def test_a_notebook_heavy_with_outputs_or_in_nbformat_3_is_read_as_code(make_repo):
    """Notebooks carry their plots: 3 MB of outputs around a cell that trains is a notebook that
    trains (the view once stopped at its 2 MB parse cap and saw no code in it)."""
    plot = {"output_type": "display_data", "data": {"image/png": "A" * (3 * 1024 * 1024)}, "metadata": {}}
    trains = "import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.fit(x, y, epochs=3)\n"
    heavy = json.loads(notebook(trains))
    heavy["cells"][0]["outputs"] = [plot]
    version3 = {
        "nbformat": 3,
        "metadata": {},
        "worksheets": [{"cells": [{"cell_type": "code", "input": [trains], "outputs": [], "language": "python"}]}],
    }
    root = make_repo({"heavy.ipynb": json.dumps(heavy), "old.ipynb": json.dumps(version3)})
    assert os.path.getsize(root / "heavy.ipynb") > MAX_PARSE_BYTES
    view = RepoView(root)
    cells = {facts.path: facts for facts in view.python_files}
    assert set(cells) == {"heavy.ipynb#cell-0", "old.ipynb#cell-0"}
    assert all(".fit" in facts.calls for facts in cells.values())
    assert not view.problems
    scored = score_tree(root)
    training = next(o for o in scored.outcomes if o.check.id == "training-entrypoint")
    assert training.result.status != Status.FAIL, training.result.reason
