"""Read cursors: per member, the last seq seen; stored beside the log (SPEC section 15)."""
