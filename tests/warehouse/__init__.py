"""Tests of warehouse/ on real DuckDB files."""
