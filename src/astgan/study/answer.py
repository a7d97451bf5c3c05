"""The study's answer in brief: what its numbers show, in a few lines at the top of ``study.md``.

Every line is read off the computed results by fixed rules, never written by hand: for each
comparison the budgets where it is shown better or worse (and whether that survives Holm's
correction over the study's verdicts), the budgets where an arm lowers the error on the rarest
third of the labels at equal prediction spread, and whether any GAN quality measure is shown to go
with the GAN arm's gain. "Shown" means what it means everywhere in astgan: the interval excludes 0.
"""

from __future__ import annotations

from astgan.metrics import fmt

COMPARED = (("gan - real", "real + GAN vs real only"),
            ("gan - control", "real + GAN vs real + C-Mixup"),
            ("control - real", "real + C-Mixup vs real only"))
EDGE_ARMS = (("gan - real", "the GAN"), ("control - real", "C-Mixup"))


def _budget(budget: str) -> str:
    return f"{float(budget):.0%}"


def _join(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def comparison_line(summary: dict, name: str, title: str) -> str:
    """Where one comparison's mean-CCC difference is shown, in either direction, each with whether it
    holds after Holm's correction over the study's verdicts."""
    better, worse, neither = [], [], []
    for budget, entry in summary.items():
        mean = entry["comparisons"].get(name, {}).get("mean_ccc")
        if mean is None:
            continue
        if not mean["shown"]:
            neither.append(_budget(budget))
            continue
        holm = "" if "shown_holm" not in mean else (", holds after Holm" if mean["shown_holm"] else ", not after Holm")
        (better if mean["difference"] > 0 else worse).append(
            f"{_budget(budget)} ({fmt(mean['difference'], signed=True)}{holm})")
    if not better and not worse:
        return f"- {title}: no difference shown at any budget."
    parts = [f"{word} at {', '.join(items)}" for word, items in
             (("better", better), ("worse", worse), ("no difference shown", neither)) if items]
    return f"- {title}: {'; '.join(parts)}."


def edge_line(regions: dict) -> str:
    """Where an arm lowers the error of the rarest third of the labels at equal prediction spread."""
    parts = []
    for name, arm in EDGE_ARMS:
        budgets = [f"{_budget(b)} ({fmt(e['matched'][name]['edge']['difference'], signed=True)})"
                   for b, e in regions.items() if name in e.get("matched", {}) and e["matched"][name]["edge"]["shown"]
                   and e["matched"][name]["edge"]["difference"] > 0]
        parts.append(f"{arm} at {_join(budgets)}")
    return ("- The rarest third of the labels, at equal prediction spread (so not just wider predictions), "
            f"gains over real only: {'; '.join(parts)}.")


def quality_line(quality: dict) -> str:
    """Whether any GAN quality measure is shown to go with the GAN arm's gain."""
    shown = [f"{name} ({fmt(entry['rho'], signed=True)})" for name, entry in quality["measures"].items()
             if entry["shown"]]
    if not shown:
        return (f"- GAN quality and gain: no quality measure is shown to go with the GAN arm's gain "
                f"({quality['n_gans']} GANs).")
    return f"- GAN quality and gain: shown to go with the gain: {', '.join(shown)} ({quality['n_gans']} GANs)."


def brief_lines(summary: dict, regions: dict | None, quality: dict | None) -> list[str]:
    """The answer's lines (mean CCC over valence and arousal, pooled over folds), as the command prints them."""
    lines = [comparison_line(summary, name, title) for name, title in COMPARED]
    if regions:
        lines.append(edge_line(regions))
    if quality and quality["measures"]:
        lines.append(quality_line(quality))
    return lines


def answer_lines(summary: dict, regions: dict | None, quality: dict | None) -> list[str]:
    """The "In brief" section of study.md: :func:`brief_lines` under its heading."""
    return ["## In brief", "", *brief_lines(summary, regions, quality), ""]
