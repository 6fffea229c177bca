"""What runs around a flow: the run lock, Prefect defaults, progress, crash points for the tests, and the demo server."""
