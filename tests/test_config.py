"""Config loading, overrides and validation: every mistake is caught before any work, by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from astgan.config import Config, config_to_yaml, load_config
from astgan.config.values import parse_overrides
from astgan.errors import ConfigError

CONFIGS = Path(__file__).parent.parent / "src" / "astgan" / "configs"


@pytest.mark.parametrize("name", ["demo.yaml", "deam.yaml"])
def test_shipped_configs_load(name):
    cfg = load_config(CONFIGS / name)
    assert cfg.synth.n == 1024


def test_the_classic_recipe_is_one_setting_away():
    # The first release's recipe: G lr twice D's, smoothed BCE labels, clipping, ExponentialLR.
    gan = load_config("demo", ["gan.recipe=classic"]).gan.resolved()
    assert (gan.lr_g, gan.lr_d) == (pytest.approx(2e-4), pytest.approx(1e-4))
    assert gan.real_label_range == (0.8, 1.0) and gan.fake_label_range == (0.0, 0.2)
    assert (gan.loss, gan.grad_clip, gan.lr_gamma, gan.extra_g_step_threshold) == ("bce", 1.0, 0.99, 0.8)
    assert Config().gan.resolved().loss == "hinge"  # while the default is the regularised recipe


def test_deam_config_points_at_real_data_and_pretrained_ast():
    cfg = load_config(CONFIGS / "deam.yaml")
    assert cfg.data.root == "data/DEAM"
    assert cfg.ast.pretrained == "MIT/ast-finetuned-audioset-10-10-0.4593"
    assert (cfg.features.n_mels, cfg.features.segment_frames) == (128, 1024)


def test_overrides_are_converted_to_the_field_type():
    cfg = load_config(CONFIGS / "demo.yaml", [
        "gan.epochs=7", "gan.lr_d=5e-5", "gan.spectral_norm=true", "ast.pretrained=null",
        "gan.betas=[0.0, 0.9]", "run.dir=runs/x", "data.max_songs=10", "ast.lr=1e-3",
    ])
    assert cfg.gan.epochs == 7 and isinstance(cfg.gan.epochs, int)
    assert cfg.gan.lr_d == 5e-5
    assert cfg.gan.spectral_norm is True
    assert cfg.ast.pretrained is None
    assert cfg.gan.betas == (0.0, 0.9)
    assert cfg.run.dir == "runs/x"
    assert cfg.ast.lr == 1e-3


def test_yaml_round_trip():
    cfg = load_config(CONFIGS / "demo.yaml", ["gan.epochs=3"])
    again = Config.from_dict(yaml.safe_load(config_to_yaml(cfg)))
    assert again == cfg


@pytest.mark.parametrize("override,message", [
    ("gan.epoch=3", "config key 'gan.epoch': unknown key. Did you mean 'epochs'?"),
    ("gna.epochs=3", "config key 'gna': unknown key. Did you mean 'gan'?"),
    ("gan.epochs=three", "config key 'gan.epochs': expected an integer, got 'three'"),
    ("gan.epochs=0", "config key 'gan.epochs': must be > 0, got 0"),
    ("gan.batch_size=-4", "config key 'gan.batch_size': must be > 0, got -4"),
    ("gan.loss=wasserstein", "config key 'gan.loss': must be one of bce, hinge, got 'wasserstein'"),
    ("gan.loss=hing", "Did you mean 'hinge'?"),
    ("gan.spectral_norm=maybe", "config key 'gan.spectral_norm': expected true or false"),
    ("gan.real_label_range=[1.0, 0.8]", "config key 'gan.real_label_range': must be [min, max]"),
    ("split.train=0.9", "config key 'split': train + val + test must sum to 1, got 1.2"),
    ("split.test=0", "config key 'split.test': must be a fraction in (0, 1), got 0.0"),
    ("features.segment_hop=4096", "config key 'features.segment_hop': must be <= features.segment_frames"),
    ("ast.hidden_size=66", "config key 'ast.hidden_size': must be divisible by ast.num_heads=4"),
    ("run.device=gpu", "config key 'run.device': must be one of auto, cpu, cuda, cuda:N"),
    ("synth.sampler=random", "config key 'synth.sampler': must be one of empirical, uniform, balanced"),
])
def test_bad_values_name_the_key_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIGS / "demo.yaml", [override])
    assert message in str(caught.value)
    assert "demo.yaml" in str(caught.value)  # the file the config came from


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"Valid keys: gan.epochs, gan.batch_size"):
        load_config(None, ["gan.epoch=3"])


def test_pretrained_ast_needs_128_mel_bins():
    with pytest.raises(ConfigError, match="features.n_mels.*128"):
        load_config(CONFIGS / "deam.yaml", ["features.n_mels=64"])


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("gan: [epochs: 3\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(listing)


@pytest.mark.parametrize("item", ["gan.epochs", "epochs=3", "gan.epochs.x.y=3", "=3"])
def test_malformed_overrides(item):
    with pytest.raises(ConfigError, match="expected section.key=value"):
        parse_overrides([item])


def test_a_three_part_override_sets_a_key_of_a_section_inside_a_section_only():
    assert parse_overrides(["study.slurm.partition=gpu"]) == {"study": {"slurm": {"partition": "gpu"}}}
    with pytest.raises(ConfigError, match="'gan.epochs': expected an integer"):
        load_config(None, ["gan.epochs.x=3"])
    with pytest.raises(ConfigError, match="'study.slurm': expected a mapping of keys"):
        load_config(None, ["study.slurm=3"])
