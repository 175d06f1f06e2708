"""recruitwatch: demo."""
