"""Smoke runs of the benchmarks at a small size."""
