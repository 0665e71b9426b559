"""A run's record: the codec of its events, the SQLite store, the one fold, replay."""
