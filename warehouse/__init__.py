"""The event log: the only code that speaks SQL (DuckDB file, or DuckLake for scale-out)."""
