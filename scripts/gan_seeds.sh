#!/usr/bin/env bash
# GAN quality per seed: the default generator (grid2d, modern recipe, D reading the frame-to-frame
# change) beside release 0.3's default (the same without gan.d_deltas, R1 gamma 1), release 0.2's
# (also films from the label alone, label loss 1.0, 12 epochs) and the first release's (time1d
# with that release's demo settings), on one split, 3 seeds each, one summary table.
#
#   bash scripts/gan_seeds.sh RUN_DIR OUT_DIR [CONFIG]
#   ARMS="default release-0.3" bash scripts/gan_seeds.sh RUN_DIR OUT_DIR    # some arms only
#
# RUN_DIR is an extracted run folder (songs.csv, normalization.json; e.g. runs/demo after
# `astgan demo`) whose split every GAN uses; its config.yaml gives data.root and the feature cache.
# Each GAN gets OUT_DIR/<arm>-s<seed>/ with its gan/ and synthetic/ folders (quality.md, figures).
# The judge (the real-only AST behind the learned Frechet distance) is trained once and shared.
set -euo pipefail
src=$1 out=$2 config=${3:-demo}
astgan=${ASTGAN:-astgan} python=${PYTHON:-python3}
first_release=(--set gan.architecture=time1d --set gan.recipe=classic --set gan.epochs=10 --set gan.batch_size=32
               --set gan.channels=32 --set gan.conditioning=projection --set gan.label_loss_weight=1.0
               --set gan.lr_d=8e-4 --set gan.sample_every=5 --set gan.d_deltas=false)
release_0_3=(--set gan.d_deltas=false --set gan.r1_weight=1.0)
release_0_2=(--set gan.latent_film=false --set gan.label_loss_weight=1.0 --set gan.epochs=12 --set gan.d_deltas=false
             --set gan.r1_weight=1.0)
root=$("$python" -c "import yaml,sys; c=yaml.safe_load(open(sys.argv[1])); print(c['data']['root'])" "$src/config.yaml")
cache=$("$python" -c "import yaml,sys; c=yaml.safe_load(open(sys.argv[1])); print(c['features']['cache_dir'])" "$src/config.yaml")
mkdir -p "$out"
for arm in ${ARMS:-default release-0.3 release-0.2 first-release}; do
    for seed in 0 1 2; do
        run="$out/$arm-s$seed"
        mkdir -p "$run/synthetic"
        cp "$src/songs.csv" "$src/normalization.json" "$run/"
        if [ -f "$out/judge.pt" ]; then cp "$out/judge.pt" "$run/synthetic/judge.pt"; fi
        options=(-c "$config" --set "data.root=$root" --set "features.cache_dir=$cache" --set "run.dir=$run"
                 --set "run.seed=$seed")
        if [ "$arm" = first-release ]; then options+=("${first_release[@]}"); fi
        if [ "$arm" = release-0.3 ]; then options+=("${release_0_3[@]}"); fi
        if [ "$arm" = release-0.2 ]; then options+=("${release_0_2[@]}"); fi
        started=$(date +%s.%N)
        "$astgan" train-gan "${options[@]}" >"$run/train-gan.log" 2>&1
        trained=$(date +%s.%N)
        "$astgan" synthesize "${options[@]}" >"$run/synthesize.log" 2>&1
        if [ ! -f "$out/judge.pt" ]; then cp "$run/synthetic/judge.pt" "$out/judge.pt"; fi
        "$python" -c "print(f'$arm-s$seed: train-gan {$trained - $started:.1f} s')" | tee -a "$out/times.txt"
    done
done
"$python" - "$out" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
print("| GAN | seed | fidelity V (CCC) | fidelity A (CCC) | Frechet band (half / VAL) | Frechet judge (half / VAL) "
      "| diversity | texture | copies |")
print("|---|---|---|---|---|---|---|---|---|")
order = {"default": 0, "release-0.3": 1, "release-0.2": 2, "first-release": 3}
arms = {}
for run in sorted(out.glob("*-s*"), key=lambda p: (order.get(p.name.rsplit("-s", 1)[0], 9), p.name)):
    q = json.loads((run / "synthetic" / "quality.json").read_text())
    fid, real = q["label_fidelity"]["ridge"]["ratio"], q["realism"]
    ccc = {d: q["label_fidelity"]["ridge"]["synthetic"][d]["ccc"] for d in ("valence", "arousal")}
    arm, seed = run.name.rsplit("-s", 1)
    print(f"| {arm} | {seed} | {fid['valence']:.2f} ({ccc['valence']:.2f}) | {fid['arousal']:.2f} ({ccc['arousal']:.2f}) "
          f"| {real['band']['train_halves']['ratio']:.2f} / {real['band']['val']['ratio']:.2f} "
          f"| {real['judge']['train_halves']['ratio']:.2f} / {real['judge']['val']['ratio']:.2f} "
          f"| {q['diversity']['ratio']:.2f} | {q['texture']['ratio']:.2f} | {q['memorisation']['flagged_share']:.3f} |")
    summary = arms.setdefault(arm, {"V": [], "A": [], "band": [], "judge": []})
    summary["V"].append(ccc["valence"]), summary["A"].append(ccc["arousal"])
    summary["band"].append(real["band"]["ratio"]), summary["judge"].append(real["judge"]["ratio"])
print()
for arm, s in arms.items():
    print(f"{arm}: seed-to-seed spread of fidelity CCC V {max(s['V']) - min(s['V']):.2f}, "
          f"A {max(s['A']) - min(s['A']):.2f}; largest Frechet ratio band {max(s['band']):.2f}, judge {max(s['judge']):.2f}")
EOF
