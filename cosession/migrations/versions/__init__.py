"""Alembic revisions, one file each (``r<rev>_<slug>.py``), applied in ``down_revision`` order."""
