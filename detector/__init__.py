"""recruitwatch: detector."""
