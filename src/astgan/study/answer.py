"""The study's answer in brief: its primary verdicts, in a few lines at the top of ``study.md``.

Every line is read off the computed results by fixed rules, never written by hand, and only the
declared primary family is stated (``study.primary`` at every budget, on mean CCC): for each
primary comparison, the budgets where it is shown better or worse after Holm's correction over that
family. A difference whose uncorrected interval excludes 0 but which does not hold after Holm is
named as not shown, without a mark. Exploratory results (other comparisons, dimensions, regions,
GAN quality) are in their own sections of study.md and never in the brief.
"""

from __future__ import annotations

from astgan.metrics import fmt, fmt_interval

TITLES = {"gan - real": "real + GAN vs real only",
          "gan - control": "real + GAN vs real + C-Mixup",
          "control - real": "real + C-Mixup vs real only"}


def _budget(budget: str) -> str:
    return f"{float(budget):.0%}"


def comparison_line(summary: dict, name: str, title: str) -> str:
    """Where one primary comparison's mean-CCC difference is shown after Holm's correction, in either direction."""
    better, worse, neither = [], [], []
    for budget, entry in summary.items():
        mean = entry["comparisons"].get(name, {}).get("mean_ccc")
        if mean is None:
            continue
        if not mean.get("shown_holm", False):
            neither.append(_budget(budget))
            continue
        (better if mean["difference"] > 0 else worse).append(
            f"{_budget(budget)} ({fmt(mean['difference'], signed=True)} "
            f"{fmt_interval([mean['low'], mean['high']], signed=True)})")
    if not better and not worse:
        return f"- {title}: no difference shown at any budget."
    parts = [f"{word} at {', '.join(items)}" for word, items in
             (("better", better), ("worse", worse), ("no difference shown", neither)) if items]
    return f"- {title}: {'; '.join(parts)}."


def brief_lines(summary: dict, primary: tuple[str, ...]) -> list[str]:
    """The primary verdicts (mean CCC, per-fold estimator, Holm over the primary family), as the command prints them."""
    family = next(iter(summary.values())).get("family", 0) if summary else 0
    lines = [comparison_line(summary, name, TITLES.get(name, name)) for name in primary]
    return lines + ["", f"Primary family: {family} comparisons; shown = the interval excludes 0 after Holm's "
                    "correction over them. Everything else in study.md is exploratory."]


def answer_lines(summary: dict, primary: tuple[str, ...]) -> list[str]:
    """The "In brief" section of study.md: :func:`brief_lines` under its heading."""
    return ["## In brief (primary verdicts only)", "", *brief_lines(summary, primary), ""]
