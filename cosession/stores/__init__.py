"""Stores of a tenant, in-store QR codes and the rooms they open (SPEC §20, docs/stores.md)."""
