import pytest


@pytest.fixture(autouse=True)
def _own_artifacts(settings, tmp_path):
    """Each test's runs write under its own folder (job ids repeat across runs of the suite)."""
    settings.CG_ARTIFACTS_ROOT = tmp_path / "artifacts"
