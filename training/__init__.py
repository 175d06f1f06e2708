"""recruitwatch: training."""
