"""Judging a trained regressor: bootstrap intervals, baselines, the evaluate stage, paired comparisons
of two runs, the report text and figures (the metrics themselves: :mod:`astgan.metrics`; the study's
statistics: :mod:`astgan.study`)."""
