"""Benchmark scripts, run as `python benchmarks/<name>.py`; each prints JSON on its last line."""
