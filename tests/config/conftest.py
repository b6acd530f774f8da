"""Fixtures borrowed from tests/portal: the authorisation matrix's world, for the security tests."""

from tests.portal.conftest import gpu_pool, make_local_repo, open_call, plan, tpu_pool  # noqa: F401
from tests.portal.test_authorization_matrix import world  # noqa: F401
