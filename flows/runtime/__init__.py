"""What runs around a flow: the run lock, Prefect defaults, progress, crash points, scheduling and the demo server."""
