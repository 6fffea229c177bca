"""The scale-out tier: shards on DuckLake with a PostgreSQL catalog (skipped without PostgreSQL)."""
