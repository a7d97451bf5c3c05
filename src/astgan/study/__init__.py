"""``astgan study``: does the GAN help, and when? A cross-validated learning curve with three arms.

The songs are cut into ``study.folds`` song-disjoint folds, so every song is a TEST song exactly
once. In each fold a share of the other songs is held out for VAL, and the rest (TRAIN) is cut
down to each real-data budget (``study.budgets``, nested subsets). Per fold and budget, a cell:

- a GAN is trained on that budget's TRAIN songs only, and draws the synthetic set;
- the AST is trained in three arms that differ in one thing only, the items added on top of each
  batch of real segments: ``real`` (none), ``gan`` (synthetic segments) and ``control`` (C-Mixup
  blends of real segments). The arms see the same real segments in the same order with the same
  masks, start from the same weights and take the same optimiser steps (early stopping off; each
  keeps its best validation epoch, which is reported);
- a ridge on band statistics, fitted on the same TRAIN songs, is the reference a learned model
  should beat.

Every unit of work writes its result into the cell's folder when it is done; ``--resume`` skips
finished units and continues interrupted ones from their last checkpoint. Cells run in
``study.jobs`` processes of ``study.threads`` torch threads each, so their numbers do not depend on
how many ran at once. With ``--base RUN_DIR`` the study is a variant of a finished one: what the
changed settings cannot touch is taken from the base, and every arm is compared with the base's
(``base``, ``compare``). The modules, in the order a study uses them: ``plan`` (cells, units, their
folders and configs), ``runner`` (:func:`run_study`), ``executors`` (where units run), ``units`` (one
unit's work), ``statistics`` (pooled CCCs, paired bootstraps, Holm), ``regions`` (by third of the
label plane), ``quality`` (GAN quality beside gain), ``answer`` (the brief), ``report`` (study.md
and the other outputs), ``figures``::

    <run.dir>/study/  study.csv  predictions.csv  study.json  study.md  study.png  study_regions.png
                      gans.csv  study_quality.png   (each GAN's quality beside its arm's gain)
                      vs_base.json  vs_base.md  vs_base.png   (with --base)
                      fold1/budget025/gan/      a run folder: the GAN, its synthetic set, the gan arm
                      fold1/budget025/real/     the real-only arm
                      fold1/budget025/control/  the C-Mixup arm
                      fold1/budget025/real/ridge_result.json  the ridge baseline
"""

from astgan.study.plan import QUICK_OVERRIDES
from astgan.study.runner import StudyResult, run_study

__all__ = ["QUICK_OVERRIDES", "StudyResult", "run_study"]
