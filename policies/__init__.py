"""recruitwatch: policies."""
