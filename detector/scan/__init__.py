"""Streaming batch scans: read posts, score them, apply a policy, write one record per row."""
