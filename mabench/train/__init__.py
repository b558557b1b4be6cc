"""Reference trainer."""
