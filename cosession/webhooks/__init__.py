"""Webhooks: a durable outbox written with the room's events, signed deliveries, retries."""
