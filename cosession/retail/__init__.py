"""Retail hand-off: signed checkout snapshots and catalog revalidation of cart lines."""
