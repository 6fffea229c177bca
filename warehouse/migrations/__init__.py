"""The schema, one numbered SQL file a step; warehouse.db applies those not yet applied."""
