"""Durable storage: the ``Store`` interface, its SQL implementation and the group committer."""
