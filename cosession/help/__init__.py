"""The associates' help queue (SPEC section 21): associate tokens, the tenant-wide queue,
its live stream, claims, escalation, and service metrics."""
