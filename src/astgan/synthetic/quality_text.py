"""The quality report in words: the table of each synthetic value beside its real reference, and
quality.md, which says what the numbers mean. The numbers come from :mod:`astgan.synthetic.quality`."""

from __future__ import annotations

from astgan.data.labels import DIMENSIONS
from astgan.synthetic.c2st import TARGET_GAP as C2ST_TARGET_GAP
from astgan.synthetic.quality import MAX_COPY_SHARE, TARGETS


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ratio_and_range(block: dict) -> str:
    """A Frechet block's ratio with the range of its draws' own ratios, e.g. "1.342 (1.21-1.52)"."""
    per_draw = block["ratio_per_draw"]
    return f"{block['ratio']:.3f} ({min(per_draw):.2f}-{max(per_draw):.2f})"


def quality_rows(report: dict) -> list[tuple[str, str, str, str]]:
    """(check, synthetic, real reference, ratio or verdict) rows of the report."""
    rows = []
    for block in report["label_fidelity"].values():
        name = "ridge probe" if block["probe"].startswith("ridge") else "judge probe"
        for dimension in DIMENSIONS:
            rows.append((f"label fidelity {dimension} CCC ({name})", _fmt(block["synthetic"][dimension]["ccc"]),
                         f"{_fmt(block['real_val'][dimension]['ccc'])} VAL", _fmt(block["ratio"][dimension])))
    for space, block in report["realism"].items():
        if space == "compared":
            continue
        label = "band stats" if space == "band" else "judge embedding"
        rows.append((f"Frechet {label}, vs other TRAIN half", _fmt(block["train_halves"]["synthetic"]),
                     f"{_fmt(block['train_halves']['floor'])} TRAIN half", _ratio_and_range(block["train_halves"])))
        rows.append((f"Frechet {label}, vs TRAIN songs", _fmt(block["val"]["synthetic"]),
                     f"{_fmt(block['val']['floor'])} VAL", _ratio_and_range(block["val"])))
    diversity = report["diversity"]
    rows.append(("diversity (mean pairwise distance)", _fmt(diversity["synthetic"]),
                 f"{_fmt(diversity['real_train_half'])} TRAIN half", _fmt(diversity["ratio"])))
    if "texture" in report:  # reports written before 0.4 have none
        texture = report["texture"]
        rows.append(("texture (mean frame-to-frame change)", _fmt(texture["synthetic"]),
                     f"{_fmt(texture['real_train_half'])} TRAIN half", _fmt(texture["ratio"])))
    memo = report["memorisation"]
    rows.append(("memorisation: share flagged as copies", _fmt(memo["flagged_share"]),
                 f"{_fmt(memo['val_flagged_share'])} VAL", "passes" if memo["passes"] else "FAILS"))
    return rows


C2ST_NAMES = {"band": "band statistics (per-band mean + std)",
              "motion": "motion (per-band change, autocorrelation at lags 1, 4, 16)",
              "image": "coarse image (16 x 16)"}


def c2st_rows(block: dict) -> list[tuple[str, str, str, str]]:
    """(test, accuracy vs synthetic, real-vs-real floor, gap) rows of a C2ST block; accuracies 0.5 = cannot tell."""
    rows = []
    for name, result in block["synthetic"].items():
        kinds = result.items() if isinstance(result, dict) else [("", result)]
        for kind, accuracy in kinds:
            key = f"{name} {kind}".strip()
            floor = block["floor"][name][kind] if kind else block["floor"][name]
            label = f"{C2ST_NAMES.get(name, name)}, {kind}" if kind else "small CNN on the segments"
            rows.append((label, _fmt(accuracy), _fmt(floor), f"{block['gap'][key]:+.3f}"))
    return rows


def c2st_markdown(block: dict) -> list[str]:
    """quality.md's C2ST section: the table and its verdict."""
    table = ["| features, classifier | accuracy vs synthetic | floor: VAL vs TRAIN songs | gap |",
             "|---|---:|---:|---:|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in c2st_rows(block)]
    verdict = (f"Every accuracy is within {block['target_gap']:.2f} of its floor." if block["met"] else
               f"Told apart: {block['worst']} is {block['max_gap']:+.3f} above its floor (target "
               f"<= {block['target_gap']:.2f}).")
    return [
        "## Can a classifier tell?",
        "",
        f"{block['segments_per_side']} real VAL segments ({block['songs']} songs) against as many generated at "
        f"their labels; the floor sets {block['floor_segments_per_side']} of them against as many segments of "
        f"other (TRAIN) songs. {block['folds']}-fold cross-validation grouped by song; accuracy is the share of "
        f"held-out segments told apart (0.5: cannot tell). {block['seconds']:.1f} s.",
        "",
        *table,
        "",
        verdict,
        "",
    ]


def format_quality_table(report: dict) -> str:
    """The report as a small text table: each synthetic value beside its real reference."""
    rows = [("check", "synthetic", "real reference", "ratio")] + quality_rows(report)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}" for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    if "c2st" in report:
        rows = [("classifier two-sample test", "accuracy", "real floor", "gap")] + c2st_rows(report["c2st"])
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        c2st = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}" for r in rows]
        lines += ["", c2st[0], "-" * len(c2st[0]), *c2st[1:]]
    return "\n".join(lines)


def quality_markdown(report: dict) -> str:
    """quality.md: the table, then what the numbers mean, in words."""
    compared = report["realism"]["compared"]
    targets = report["targets"]
    missed = [name for name, check in targets.items() if not check["met"]]
    table = ["| check | synthetic | real reference | ratio |", "|---|---:|---:|---:|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in quality_rows(report)]
    if missed:
        verdict = f"Targets missed: {', '.join(missed)} (see `targets` in quality.json)."
    elif "c2st" in targets:
        verdict = "Every target is met."
    else:  # without the classifier test a generator that is plainly fake can pass the rest (issue 23)
        verdict = ("Every target checked is met, but the classifier two-sample test was not run (synth.c2st is "
                   "off, or VAL has fewer songs than its folds), so this does not say the segments pass for real "
                   "music.")
    return "\n".join([
        "# Synthetic set quality",
        "",
        *table,
        "",
        verdict,
        "",
        *(c2st_markdown(report["c2st"]) if "c2st" in report else []),
        "## How to read it",
        "",
        "- **Label fidelity**: a ridge probe fitted on real TRAIN segments predicts the labels of segments "
        "generated at TRAIN's labels (one per TRAIN segment: TRAIN's own label distribution). Its CCC against "
        "the requested labels sits beside the same probe on real VAL songs; a ratio near 1 means the generated "
        "segments carry their label about as well as unseen real music does (target >= "
        f"{TARGETS['fidelity_ratio']}). The judge probe is the same test with a small AST trained on real TRAIN "
        "data.",
        "- **Frechet ratio**: distance of generated segments to real TRAIN segments divided by the distance "
        "between two real sets of different songs (the floor). Two floors: two halves of the TRAIN songs "
        f"({compared['songs_per_train_half']} songs, {compared['train_half_segments']} segments each), and VAL "
        f"against as many TRAIN songs ({compared['val_songs']} songs, {compared['val_segments']} segments each); the "
        "generated set has as many segments, drawn at the labels of the real set it stands in for. Which songs "
        "fall in which set moves a single floor a lot, so both distances are averaged over "
        f"{compared['draws']} seeded draws of those songs; the ratio is that of the averages, and the range in "
        "brackets is that of the draws' own ratios. A ratio of 1 "
        "means the generated set is as far from TRAIN as other real songs are; below 1 is possible, because "
        "generated segments are not clustered by song. Two feature spaces: per-band mean + std (the spectral "
        "envelope and its movement), and the pooled embedding of the judge, which also sees time structure "
        f"(onsets, rhythm). Target: the larger ratio <= {TARGETS['frechet_ratio']} in each space.",
        "- **Diversity**: mean pairwise distance among generated segments beside the real ones they stand in for "
        "(same labels, same count); well below 1 means the generator draws too little variety (mode collapse).",
        "- **Texture**: mean change from one frame to the next, generated beside real (the same two sets). Well "
        "above 1: jitter or a grain of the generator's patches; well below 1: smeared onsets and notes. No target: "
        "it says where to look in real_vs_synthetic.png.",
        "- **Can a classifier tell?** (the classifier two-sample test): classifiers learn to tell real VAL "
        "segments from generated ones, and are scored on songs they did not learn from. Three feature sets a "
        "person can read (band statistics; motion: how each band changes from frame to frame and how it "
        "correlates with itself 1, 4 and 16 frames later; the segment shrunk to a 16 x 16 image), each with "
        "logistic regression and gradient-boosted trees, and a small CNN on the segments. Two real sets of "
        "different songs are not identical either, so each accuracy sits beside the same test between VAL and "
        "TRAIN songs (the floor). Target: every accuracy at most "
        f"{C2ST_TARGET_GAP:.2f} above its floor (above 0.5 where the floor is lower: below chance is luck). "
        "The segments of one song go together, so with few VAL songs a floor moves by about 0.1 from one draw "
        "of songs to another. The Frechet ratio compares averages and spreads; this test asks whether single "
        "segments give themselves away.",
        "- **Memorisation**: a generated segment nearer to a TRAIN segment than half of what the closest 5 % of "
        "real VAL segments get is flagged as a near-copy; the check fails when more than "
        f"{MAX_COPY_SHARE:.0%} of the written set is flagged. It cannot tell realism: a generator far from the "
        "data passes it, and the Frechet ratio is what catches that.",
        "",
    ])
