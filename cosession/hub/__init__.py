"""Fan-out backends behind one interface (``hub.Hub``): in-memory now, Redis for clusters."""
