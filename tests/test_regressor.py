"""The AST regressor: shapes, the Hugging Face class it is, learning, the CCC loss, the pretrained
path, offline reloading, and older checkpoints (plain linear head) that must predict as before."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import torch

from astgan.artifacts import save_checkpoint
from astgan.config import Config
from astgan.errors import AstganError
from astgan.regressor.losses import regression_loss
from astgan.regressor.model import (
    ASTRegressor,
    LegacyASTRegressor,
    build_regressor,
    load_regressor,
    patch_grid,
    regressor_checkpoint,
    to_hf_model,
)

from helpers import legacy_checkpoint


def test_forward_and_embed_shapes(tiny_cfg):
    model = build_regressor(tiny_cfg)
    specs = torch.randn(3, tiny_cfg.features.n_mels, tiny_cfg.features.segment_frames)
    assert model(specs).shape == (3, 2)
    assert model.embed(specs).shape == (3, tiny_cfg.ast.hidden_size)
    with pytest.raises(ValueError, match="expected"):
        model(specs.transpose(1, 2))  # AST's own (B, frames, n_mels) layout is not ours


def test_the_regressor_is_ast_for_audio_classification(tiny_cfg):
    """Same weights under the same names, same outputs: the model is HF's class in astgan's layout."""
    from transformers import ASTForAudioClassification

    model = build_regressor(tiny_cfg).eval()
    hf_model = to_hf_model(model)
    assert type(hf_model) is ASTForAudioClassification
    assert list(hf_model.state_dict()) == list(model.state_dict())
    config = hf_model.config
    assert config.num_labels == 2 and config.problem_type == "regression"
    assert config.id2label == {0: "valence", 1: "arousal"} and config.architectures == ["ASTForAudioClassification"]
    specs = torch.randn(3, tiny_cfg.features.n_mels, tiny_cfg.features.segment_frames)
    with torch.no_grad():
        logits = hf_model(input_values=specs.transpose(1, 2)).logits
        assert torch.equal(model(specs), logits)
        pooled = hf_model.audio_spectrogram_transformer(specs.transpose(1, 2)).pooler_output
        assert torch.equal(model.embed(specs), pooled)


def test_legacy_checkpoint_loads_and_predicts_exactly_as_before(tiny_cfg, tmp_path):
    payload, old = legacy_checkpoint(tiny_cfg)
    path = save_checkpoint(tmp_path / "best.pt", payload)
    loaded, _ = load_regressor(path)
    assert isinstance(loaded, LegacyASTRegressor) and not isinstance(loaded, ASTRegressor)
    specs = torch.randn(4, tiny_cfg.features.n_mels, tiny_cfg.features.segment_frames)
    with torch.no_grad():
        before = old.head(old.encoder(input_values=specs.transpose(1, 2)).pooler_output)
        assert torch.equal(loaded(specs), before)
        assert loaded.embed(specs).shape == (4, tiny_cfg.ast.hidden_size)
    # saved again (train-ast --resume of an old run): stays a legacy model with the same weights
    payload_again = regressor_checkpoint(loaded, tiny_cfg, payload["normalization"], 5, {})
    again = save_checkpoint(tmp_path / "again.pt", payload_again)
    reloaded, _ = load_regressor(again)
    with torch.no_grad():
        assert isinstance(reloaded, LegacyASTRegressor) and torch.equal(reloaded(specs), before)
    with pytest.raises(AstganError, match="retrain"):
        to_hf_model(loaded)


@pytest.mark.slow
def test_tiny_ast_overfits_a_fixed_batch(prepared_tiny):
    """A one-layer AST drives the MSE on 16 real segments down by at least 10x in 150 steps."""
    cfg, data = prepared_tiny
    torch.manual_seed(0)
    train = data.segments("train")
    indices = np.linspace(0, len(train) - 1, 16).astype(int)
    specs = torch.from_numpy(train.stack(indices))
    labels = torch.from_numpy(train.labels[indices])
    model = build_regressor(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(150):
        loss = regression_loss(model(specs), labels, "mse")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10, f"loss went from {losses[0]:.4f} to only {losses[-1]:.4f}"


@pytest.mark.parametrize("kind", ["ccc", "mse+ccc"])
def test_ccc_loss_gradient_is_finite(kind):
    target = torch.tensor([[0.5, -0.2], [-0.3, 0.4], [0.1, 0.9], [-0.8, -0.5]])
    for pred in (torch.randn(4, 2), torch.zeros(4, 2)):  # also a constant prediction: zero variance
        pred = pred.clone().requires_grad_(True)
        loss = regression_loss(pred, target, kind)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()
        assert pred.grad.abs().sum() > 0
    perfect = regression_loss(target.clone(), target, "ccc")
    assert perfect.item() == pytest.approx(0.0, abs=1e-5)


# --------------------------------------------------------------------------- pretrained path


def _pretrained_config(folder, segment_frames: int) -> Config:
    return Config.from_dict({
        "features": {"n_mels": 128, "segment_frames": segment_frames, "segment_hop": segment_frames // 2},
        "ast": {"pretrained": str(folder), "frequency_stride": 16, "time_stride": 16},
        "run": {"device": "cpu"},
    })


@pytest.fixture(scope="module")
def saved_small_ast(tmp_path_factory):
    """A small ASTForAudioClassification (5 classes, max_length 128) saved with save_pretrained."""
    from transformers import ASTConfig, ASTForAudioClassification

    torch.manual_seed(1)
    config = ASTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                       frequency_stride=16, time_stride=16, max_length=128, num_mel_bins=128, num_labels=5)
    source = ASTForAudioClassification(config)
    with torch.no_grad():  # HF starts them at zero: give them structure that interpolation must keep
        source.audio_spectrogram_transformer.embeddings.position_embeddings.normal_()
    folder = tmp_path_factory.mktemp("small_ast")
    source.save_pretrained(folder)
    return folder, source


def test_pretrained_folder_interpolates_position_embeddings(saved_small_ast, caplog):
    folder, source = saved_small_ast
    saved_encoder = source.audio_spectrogram_transformer
    logger = logging.getLogger("astgan")
    logger.addHandler(caplog.handler)  # the CLI's logging setup stops propagation to the root logger
    try:
        with caplog.at_level("INFO", logger="astgan"):
            model = build_regressor(_pretrained_config(folder, segment_frames=256))  # 2x the saved max_length
    finally:
        logger.removeHandler(caplog.handler)
    assert "interpolated" in caplog.text

    old_f, old_t = patch_grid(saved_encoder.config)
    new_f, new_t = patch_grid(model.ast_config)
    assert (new_f, new_t) == (old_f, 2 * old_t)
    saved_pos = saved_encoder.embeddings.position_embeddings.detach()
    new_pos = model.encoder.embeddings.position_embeddings.detach()
    assert torch.equal(new_pos[:, :2], saved_pos[:, :2])  # CLS and distillation tokens kept as they were
    # Each new time patch lies next to an old one: the grid follows the saved one, not fresh noise.
    hidden = saved_pos.shape[-1]
    nearest = saved_pos[:, 2:].reshape(old_f, old_t, hidden).repeat_interleave(2, dim=1).reshape(-1)
    correlation = np.corrcoef(new_pos[:, 2:].reshape(-1).numpy(), nearest.numpy())[0, 1]
    assert correlation > 0.8, f"position embeddings correlate {correlation:.2f} with the saved ones"

    # every other encoder weight is the saved one (whatever this transformers version names them);
    # the head is new, with two outputs
    new_weights = model.encoder.state_dict()
    for name, weight in saved_encoder.state_dict().items():
        if name != "embeddings.position_embeddings":
            assert torch.equal(new_weights[name], weight), name
    assert model.classifier.dense.weight.shape == (2, 32) and source.classifier.dense.weight.shape == (5, 32)
    assert model.ast_config.id2label == {0: "valence", 1: "arousal"} and model.ast_config.problem_type == "regression"
    assert model(torch.randn(2, 128, 256)).shape == (2, 2)


def test_pretrained_run_reloads_offline_from_its_checkpoint(saved_small_ast, tmp_path):
    folder, _ = saved_small_ast
    copy = tmp_path / "pretrained"
    shutil.copytree(folder, copy)
    cfg = _pretrained_config(copy, segment_frames=64)
    model = build_regressor(cfg).eval()
    path = save_checkpoint(tmp_path / "best.pt", regressor_checkpoint(
        model, cfg, {"mean": -4.27, "std": 4.57, "source": "audioset"}, epoch=1, val={"val_mean_ccc": 0.5}))
    shutil.rmtree(copy)  # the pretrained weights are gone: only the checkpoint remains
    loaded, loaded_cfg = load_regressor(path)
    specs = torch.randn(2, 128, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(specs), model(specs), atol=1e-6)
    assert loaded_cfg.ast.pretrained == str(copy)


def test_unreachable_hub_id_says_how_to_use_a_local_folder(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # as on a machine without network
    cfg = Config.from_dict({"features": {"n_mels": 128}, "ast": {"pretrained": "nobody/no-such-ast-model"}})
    with pytest.raises(AstganError, match="ast.pretrained=") as info:
        build_regressor(cfg)
    assert "local folder" in str(info.value) and "--set ast.pretrained=" in str(info.value)


def test_pretrained_folder_without_config_is_a_clear_error(tmp_path):
    cfg = Config.from_dict({"features": {"n_mels": 128}, "ast": {"pretrained": str(tmp_path)}})
    with pytest.raises(AstganError, match="config.json"):
        build_regressor(cfg)
