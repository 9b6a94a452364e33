"""Tenants (retailers): API keys, allowed origins, and the checks that use them."""
