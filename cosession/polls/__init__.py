"""Poll deadlines (SPEC 17.5): durable rows written with ``poll.create``, and the sweeper
that sequences ``poll.close`` exactly once when they fall due."""
