"""The study's answer in brief: primary verdicts only, read off the results by fixed rules."""

from __future__ import annotations

from astgan.study.answer import answer_lines, brief_lines, comparison_line


def effect(difference: float, shown: bool, shown_holm: bool | None = None) -> dict:
    mean = {"difference": difference, "low": difference - 0.02, "high": difference + 0.02, "shown": shown}
    if shown_holm is not None:
        mean["shown_holm"] = shown_holm
    return {"mean_ccc": mean}


def budget(gan_real: dict, gan_control: dict, control_real: dict) -> dict:
    return {"family": 6, "comparisons": {"gan - real": gan_real, "gan - control": gan_control,
                                         "control - real": control_real}}


SUMMARY = {
    "0.25": budget(effect(0.05, True, True), effect(0.01, False, False), effect(0.04, True)),
    "0.5": budget(effect(0.02, False, False), effect(0.0, False, False), effect(0.0, False)),
    "1": budget(effect(-0.04, True, False), effect(-0.05, True, True), effect(0.0, False)),
}


def test_a_primary_verdict_is_shown_only_after_holm_and_uncorrected_ones_carry_no_mark():
    assert comparison_line(SUMMARY, "gan - real", "GAN vs real") == (
        "- GAN vs real: better at 25% (+0.050 [+0.030, +0.070]); no difference shown at 50%, 100%.")
    # 100%: its uncorrected interval excludes 0 but it does not hold after Holm: not shown, and no star anywhere
    assert "*" not in comparison_line(SUMMARY, "gan - real", "GAN vs real")
    assert comparison_line(SUMMARY, "gan - control", "GAN vs C-Mixup") == (
        "- GAN vs C-Mixup: worse at 100% (-0.050 [-0.070, -0.030]); no difference shown at 25%, 50%.")
    assert comparison_line(SUMMARY, "absent", "absent") == "- absent: no difference shown at any budget."


def test_the_brief_states_the_primary_family_and_nothing_else():
    lines = brief_lines(SUMMARY, ("gan - real", "gan - control"))
    assert len(lines) == 2 + 2 and lines[0].startswith("- real + GAN vs real only")
    assert not any("C-Mixup vs real" in line for line in lines)  # control - real is exploratory
    assert "6 comparisons" in lines[-1] and "exploratory" in lines[-1]
    section = answer_lines(SUMMARY, ("gan - real",))
    assert section[0] == "## In brief (primary verdicts only)" and len(section) == 2 + 1 + 2 + 1
