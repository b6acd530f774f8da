"""Demo data for a fresh install (`manage.py seed_demo`): the seeders and the demo's story."""
