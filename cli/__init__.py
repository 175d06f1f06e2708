"""recruitwatch: cli."""
