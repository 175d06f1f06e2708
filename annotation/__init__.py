"""recruitwatch: annotation."""
