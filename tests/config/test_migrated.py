"""A command run before `migrate` says to migrate first, instead of failing on a missing table."""

from tests.config.test_settings import run_python


def test_seed_demo_on_an_unmigrated_database_says_to_run_migrate_first(tmp_path):
    result = run_python("", {"CG_DATA_DIR": str(tmp_path)}, "manage.py", "seed_demo")
    assert result.returncode == 1
    assert "run `python manage.py migrate` first" in result.stderr
    assert "no such table" not in result.stderr
