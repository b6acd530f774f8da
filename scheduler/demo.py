"""Demo pools (and later allocations) for `manage.py seed_demo`. Filled in by the quota work."""


def seed_pools() -> list[str]:
    return []
