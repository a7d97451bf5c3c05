"""``astgan study``: does the GAN help, and when? (:mod:`astgan.study.runner`)."""

from astgan.study.runner import QUICK_OVERRIDES, StudyResult, run_study

__all__ = ["QUICK_OVERRIDES", "StudyResult", "run_study"]
