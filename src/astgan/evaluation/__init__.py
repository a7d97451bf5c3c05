"""Judging predictions: metrics, bootstrap intervals, baselines, the evaluate stage, paired comparisons
and the report text."""
