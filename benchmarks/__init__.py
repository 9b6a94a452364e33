"""Benchmarks: load generators and baselines, run as ``python -m benchmarks.<name>``."""
