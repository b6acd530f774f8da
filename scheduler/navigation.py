"""The scheduler's entries in the navigation bar (see portal.navigation)."""

NAV_ITEMS = [
    ("Allocations", "scheduler:allocation_list", frozenset({"applicant", "maintainer"})),
    ("Runs", "scheduler:job_list", frozenset({"applicant", "maintainer"})),
    ("Pools", "scheduler:pool_list", frozenset({"maintainer"})),
    ("Queue", "scheduler:queue", frozenset({"maintainer"})),
]
