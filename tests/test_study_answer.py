"""The study's answer in brief: lines read off the results by fixed rules."""

from __future__ import annotations

from astgan.study.answer import answer_lines, comparison_line, edge_line, quality_line


def effect(difference: float, shown: bool, shown_holm: bool | None = None) -> dict:
    mean = {"difference": difference, "shown": shown}
    if shown_holm is not None:
        mean["shown_holm"] = shown_holm
    return {"mean_ccc": mean}


SUMMARY = {
    "0.25": {"comparisons": {"gan - real": effect(0.05, True, True), "gan - control": effect(0.01, False, False)}},
    "0.5": {"comparisons": {"gan - real": effect(0.02, False, False), "gan - control": effect(0.0, False, False)}},
    "1": {"comparisons": {"gan - real": effect(-0.04, True, False), "gan - control": effect(-0.01, False, False)}},
}


def edge(difference: float, shown: bool) -> dict:
    return {"edge": {"difference": difference, "shown": shown}}


def test_each_comparison_says_where_it_is_shown_and_whether_it_holds_after_holm():
    assert comparison_line(SUMMARY, "gan - real", "GAN vs real") == (
        "- GAN vs real: better at 25% (+0.050, holds after Holm); worse at 100% (-0.040, not after Holm); "
        "no difference shown at 50%.")
    assert comparison_line(SUMMARY, "gan - control", "GAN vs C-Mixup") == (
        "- GAN vs C-Mixup: no difference shown at any budget.")
    assert comparison_line(SUMMARY, "control - real", "absent") == "- absent: no difference shown at any budget."


def test_the_rare_labels_line_counts_only_gains_shown_at_equal_spread():
    regions = {"0.25": {"matched": {"gan - real": edge(0.04, True), "control - real": edge(0.06, False)}},
               "1": {"matched": {"gan - real": edge(-0.05, True), "control - real": edge(0.03, True)}}}
    line = edge_line(regions)
    assert "the GAN at 25% (+0.040)" in line and "C-Mixup at 100% (+0.030)" in line and "-0.050" not in line
    assert "the GAN at none; C-Mixup at none" in edge_line({"1": {"matched": {}}})


def test_the_quality_line_and_the_section():
    quality = {"n_gans": 45, "measures": {"frechet_band": {"rho": -0.4, "shown": True},
                                          "diversity": {"rho": 0.1, "shown": False}}}
    expected = "- GAN quality and gain: shown to go with the gain: frechet_band (-0.400) (45 GANs)."
    assert quality_line(quality) == expected
    quality["measures"]["frechet_band"]["shown"] = False
    assert "no quality measure is shown" in quality_line(quality)
    lines = answer_lines(SUMMARY, None, None)
    assert lines[0] == "## In brief" and len(lines) == 2 + 3 + 1  # header, blank, 3 comparisons, blank
    assert len(answer_lines(SUMMARY, {"1": {"matched": {}}}, quality)) == 2 + 5 + 1
