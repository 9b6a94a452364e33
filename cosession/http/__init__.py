"""REST API under /v1 and health endpoints."""
