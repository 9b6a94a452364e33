"""The tenant admin API: rooms (list, read, close, purge), member erasure, retention."""
