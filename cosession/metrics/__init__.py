"""Operations metrics: plain counters the hot paths bump, exported by a Prometheus collector."""
