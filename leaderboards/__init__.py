"""Leaderboards, comparisons, regression checks and reports over run directories."""
