"""Product Q&A: public per-tenant threads, verified buyers' answers flowing back into rooms (SPEC 19)."""
