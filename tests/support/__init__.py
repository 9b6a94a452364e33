"""Helpers shared by the integration tests: real server processes and raw WS clients."""
