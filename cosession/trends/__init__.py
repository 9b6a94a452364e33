"""Anonymous trends per tenant: aggregates over rooms with a minimum group size k."""
