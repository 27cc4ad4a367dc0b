"""Running the service: the CLI, the demo story, health checks, /metrics, gunicorn settings."""
