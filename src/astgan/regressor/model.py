"""The Audio Spectrogram Transformer regressor of (valence, arousal): a standard Hugging Face model.

:class:`ASTRegressor` *is* ``ASTForAudioClassification(num_labels=2, problem_type="regression")``:
it holds that class's two parts under their own names (``audio_spectrogram_transformer``, the
encoder, and ``classifier``, LayerNorm + Linear on the pooled output), so its ``state_dict`` is
the Hugging Face model's, key for key, and :func:`to_hf_model` / ``astgan export`` hand the same
weights to the class itself. What it adds is astgan's input convention: it reads (B, n_mels,
frames) spectrograms in the normalised log-mel space and transposes them to AST's (B, frames,
n_mels). Outputs are (valence, arousal) on the -1..1 label scale (DEAM's 1..9 = 4 x + 5).

Two ways to build it (``build_regressor``):

- ``ast.pretrained`` names a hub id or a local folder (saved from ``ASTModel`` or
  ``ASTForAudioClassification``, e.g. an AudioSet checkpoint): the encoder's weights come from
  there, the head is a fresh two-output one. When the segment length (``features.segment_frames``,
  AST's ``max_length``) or the strides differ from the checkpoint's, the position embeddings are
  resized by bilinear interpolation over the patch grid, as the original AST recipe does.
- otherwise an ``ASTConfig`` is built from the ``ast`` section (small for the demo and the tests).

A checkpoint stores the AST config as a plain dict, so ``load_regressor`` rebuilds the model
offline, without ever reaching the hub.

Checkpoints written before the regressor became that class (model keys ``encoder.*``,
``head.weight``, ``head.bias``) had a plain linear head on the pooled output.
ASTForAudioClassification's head normalises the pooled output
first (a LayerNorm), and no choice of its weights reproduces a plain linear map, so such a
checkpoint cannot become that class without changing its predictions. It loads as
:class:`LegacyASTRegressor` instead: the encoder keys are renamed to the Hugging Face names, the
linear head is kept, and it predicts exactly as before; ``astgan export`` refuses it and says to
retrain.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import ASTConfig, ASTForAudioClassification, ASTModel

from astgan.artifacts import load_checkpoint
from astgan.config import Config
from astgan.errors import AstganError, CheckpointError

log = logging.getLogger(__name__)

LABELS = ("valence", "arousal")  # the order of the two outputs
N_OUTPUTS = len(LABELS)
POSITION_KEY = "embeddings.position_embeddings"
N_SPECIAL_TOKENS = 2  # AST prepends a CLS and a distillation token to the patches
ENCODER = "audio_spectrogram_transformer"  # the encoder's name inside ASTForAudioClassification
HF_CLASS = "ASTForAudioClassification"
LEGACY_CLASS = "astgan-linear-head"  # the ``model_class`` of a LegacyASTRegressor checkpoint


class SpectrogramRegressor(nn.Module):
    """What both regressors share: astgan's input layout and the pooled embedding."""

    audio_spectrogram_transformer: ASTModel
    model_class: str

    @property
    def ast_config(self) -> ASTConfig:
        return self.audio_spectrogram_transformer.config

    @property
    def encoder(self) -> ASTModel:
        """The AST encoder (Hugging Face ``ASTModel``)."""
        return self.audio_spectrogram_transformer

    @property
    def input_shape(self) -> tuple[int, int]:
        """(n_mels, frames) of the spectrograms the model reads."""
        return self.ast_config.num_mel_bins, self.ast_config.max_length

    def input_values(self, specs: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) astgan layout -> (B, frames, n_mels), AST's ``input_values``."""
        if specs.dim() != 3 or tuple(specs.shape[1:]) != self.input_shape:
            n_mels, frames = self.input_shape
            raise ValueError(f"specs have shape {tuple(specs.shape)}, expected (B, {n_mels}, {frames})")
        return specs.transpose(1, 2)

    def embed(self, specs: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) -> (B, hidden) pooled embedding (mean of the CLS and distillation tokens)."""
        return self.audio_spectrogram_transformer(input_values=self.input_values(specs)).pooler_output


class ASTRegressor(SpectrogramRegressor):
    """ASTForAudioClassification(num_labels=2, regression) reading (B, n_mels, frames) normalised log-mels.

    Outputs (B, 2): (valence, arousal) on -1..1.
    """

    model_class = HF_CLASS

    def __init__(self, ast_config: ASTConfig):
        super().__init__()
        hf_model = ASTForAudioClassification(regression_config(ast_config))
        # Its two parts under their own names: this module's state_dict is the HF model's.
        self.audio_spectrogram_transformer = hf_model.audio_spectrogram_transformer
        self.classifier = hf_model.classifier

    def forward(self, specs: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) -> (B, 2) predicted (valence, arousal), the HF model's ``logits``."""
        return self.classifier(self.embed(specs))


class LegacyASTRegressor(SpectrogramRegressor):
    """An earlier astgan checkpoint: the AST encoder + a plain ``nn.Linear`` head on the pooled output.

    Loaded only from such checkpoints, so that they keep predicting exactly as before; new models
    are :class:`ASTRegressor`. Same interface: (B, n_mels, frames) -> (B, 2) on -1..1.
    """

    model_class = LEGACY_CLASS

    def __init__(self, ast_config: ASTConfig):
        super().__init__()
        self.audio_spectrogram_transformer = ASTModel(ast_config)
        self.head = nn.Linear(ast_config.hidden_size, N_OUTPUTS)

    def forward(self, specs: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(specs))


def regression_config(ast_config: ASTConfig) -> ASTConfig:
    """A copy of ``ast_config`` set up as a two-output regressor (labels valence, arousal)."""
    return ASTConfig.from_dict({
        **_plain_config(ast_config),
        "id2label": dict(enumerate(LABELS)),
        "label2id": {name: i for i, name in enumerate(LABELS)},
        "problem_type": "regression",
        "architectures": [HF_CLASS],
    })


def to_hf_model(model: ASTRegressor) -> ASTForAudioClassification:
    """The same weights in Hugging Face's own class (eval mode, CPU), e.g. for ``save_pretrained``."""
    if not isinstance(model, ASTRegressor):
        raise CheckpointError(legacy_message("this model"))
    hf_model = ASTForAudioClassification(regression_config(model.ast_config))
    hf_model.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})  # strict
    return hf_model.eval()


def from_hf_model(hf_model: ASTForAudioClassification) -> ASTRegressor:
    """An :class:`ASTRegressor` holding the weights of a two-output ``ASTForAudioClassification``."""
    if hf_model.config.num_labels != N_OUTPUTS:
        raise CheckpointError(f"the model has {hf_model.config.num_labels} outputs, "
                              f"expected {N_OUTPUTS} (valence, arousal)")
    model = ASTRegressor(hf_model.config)
    model.load_state_dict(hf_model.state_dict())
    return model


def legacy_message(name: str) -> str:
    return (f"{name} was trained by an earlier astgan with a plain linear head on the pooled output. It still "
            "predicts and evaluates exactly as before, but ASTForAudioClassification's head (LayerNorm + Linear) "
            "cannot reproduce it, so it cannot be exported as a Hugging Face model: retrain it with "
            "`astgan train-ast` (new runs train the standard class)")


def to_label_range(pred: torch.Tensor) -> torch.Tensor:
    """Clamp predictions to the label scale -1..1 (DEAM's 1..9).

    The linear head is free during training; a rating outside the scale cannot be right, so every
    prediction that is scored or reported (validation, evaluation, predict) is clamped here.
    """
    return pred.clamp(-1.0, 1.0)


# --------------------------------------------------------------------------- building


def ast_config_from(cfg: Config) -> ASTConfig:
    """A fresh AST architecture from the ``ast`` section, sized to the configured segments."""
    a = cfg.ast
    return ASTConfig(
        hidden_size=a.hidden_size,
        num_hidden_layers=a.num_layers,
        num_attention_heads=a.num_heads,
        intermediate_size=a.intermediate_size,
        patch_size=a.patch_size,
        frequency_stride=a.frequency_stride,
        time_stride=a.time_stride,
        max_length=cfg.features.segment_frames,
        num_mel_bins=cfg.features.n_mels,
        hidden_dropout_prob=a.dropout,
        attention_probs_dropout_prob=a.dropout,
    )


def build_regressor(cfg: Config) -> ASTRegressor:
    """The regressor described by ``cfg``: pretrained encoder when ``ast.pretrained`` is set, else fresh."""
    if cfg.ast.pretrained:
        return _from_pretrained(cfg)
    model = ASTRegressor(ast_config_from(cfg))
    # HF starts position embeddings at zero (right when they are loaded, not when trained from
    # scratch): small random values let patches tell their place from the first step, as in ViT.
    nn.init.trunc_normal_(model.encoder.embeddings.position_embeddings, std=0.02)
    n_params = sum(p.numel() for p in model.parameters())
    config = model.ast_config
    log.info(f"AST regressor: fresh, {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
             f"{n_patches(config)} patches, {n_params / 1e3:.0f}k parameters")
    return model


def n_patches(ast_config: ASTConfig) -> int:
    freq, time = patch_grid(ast_config)
    return freq * time


def patch_grid(ast_config: ASTConfig) -> tuple[int, int]:
    """(frequency, time) patch counts, as ``ASTEmbeddings.get_shape`` computes them."""
    freq = (ast_config.num_mel_bins - ast_config.patch_size) // ast_config.frequency_stride + 1
    time = (ast_config.max_length - ast_config.patch_size) // ast_config.time_stride + 1
    return freq, time


def _load_pretrained_encoder(source: str) -> ASTModel:
    """``ASTModel.from_pretrained`` on a local folder or a hub id; an AstganError when neither works.

    Works for folders saved from ``ASTModel`` and from ``ASTForAudioClassification`` (the
    classification head is left behind).
    """
    folder = Path(source).expanduser()
    if folder.exists():
        if not (folder / "config.json").is_file():
            raise AstganError(f"ast.pretrained={source}: folder has no config.json; expected a folder written by "
                              "save_pretrained (config.json + model.safetensors)")
        try:
            return ASTModel.from_pretrained(folder)
        except (OSError, ValueError) as err:
            raise AstganError(f"ast.pretrained={source}: cannot load the AST weights ({err})") from None
    try:
        try:  # the local Hugging Face cache first: no network needed once downloaded
            return ASTModel.from_pretrained(source, local_files_only=True)
        except OSError:
            if not _hub_reachable():  # fail now instead of after the hub client's ~25 s of retries
                raise OSError("the Hugging Face hub cannot be reached from this machine") from None
            return ASTModel.from_pretrained(source)
    except Exception as err:  # offline, unknown id, gated repo: all end the same way for the user
        raise AstganError(
            f"ast.pretrained={source}: not a local folder, and the Hugging Face hub gave no model "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). On a machine with network run "
            f"`huggingface-cli download {source} --local-dir data/ast-pretrained` (or ASTModel.from_pretrained(...)"
            ".save_pretrained('data/ast-pretrained')), copy that folder here and set "
            "--set ast.pretrained=data/ast-pretrained"
        ) from None


def _hub_reachable() -> bool:
    """Whether the hub's host name resolves (HF_ENDPOINT respected); False when offline."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        socket.getaddrinfo(urlparse(constants.ENDPOINT).hostname, 443)
        return True
    except OSError:
        return False


def _from_pretrained(cfg: Config) -> ASTRegressor:
    source = cfg.ast.pretrained
    pretrained = _load_pretrained_encoder(source)
    saved = pretrained.config
    if saved.num_mel_bins != cfg.features.n_mels:
        raise AstganError(f"ast.pretrained={source} reads {saved.num_mel_bins} mel bins but features.n_mels is "
                          f"{cfg.features.n_mels}; set features.n_mels={saved.num_mel_bins}")
    if cfg.ast.patch_size != saved.patch_size:
        log.warning(f"ast.patch_size={cfg.ast.patch_size} ignored: {source} was trained with patch size "
                    f"{saved.patch_size}")
    # The pretrained architecture, with our segment length, strides and dropout.
    ast_config = ASTConfig.from_dict({
        **saved.to_dict(),
        "max_length": cfg.features.segment_frames,
        "frequency_stride": cfg.ast.frequency_stride,
        "time_stride": cfg.ast.time_stride,
        "hidden_dropout_prob": cfg.ast.dropout,
        "attention_probs_dropout_prob": cfg.ast.dropout,
    })
    model = ASTRegressor(ast_config)
    state = pretrained.state_dict()
    old_grid, new_grid = patch_grid(saved), patch_grid(ast_config)
    if old_grid != new_grid:
        state[POSITION_KEY] = interpolate_position_embeddings(state[POSITION_KEY], old_grid, new_grid)
        log.info(f"position embeddings of {source} interpolated from {old_grid[0]} x {old_grid[1]} to "
                 f"{new_grid[0]} x {new_grid[1]} (frequency x time) patches: max_length {saved.max_length} -> "
                 f"{ast_config.max_length}, strides {saved.frequency_stride}/{saved.time_stride} -> "
                 f"{ast_config.frequency_stride}/{ast_config.time_stride}")
    model.encoder.load_state_dict(state)  # strict: every encoder weight comes from the checkpoint
    log.info(f"AST regressor: encoder from {source} ({ast_config.num_hidden_layers} layers, hidden "
             f"{ast_config.hidden_size}), new 2-output head")
    return model


def interpolate_position_embeddings(position: torch.Tensor, old_grid: tuple[int, int],
                                    new_grid: tuple[int, int]) -> torch.Tensor:
    """Resize AST position embeddings to another patch grid.

    ``position``: (1, 2 + F*T, hidden), the two special tokens first, then the patches in
    frequency-major order (as ``ASTPatchEmbeddings`` flattens its (F, T) output). Returns
    (1, 2 + F'*T', hidden): special tokens kept, the patch grid resized bilinearly.
    """
    (f_old, t_old), (f_new, t_new) = old_grid, new_grid
    special, patches = position[:, :N_SPECIAL_TOKENS], position[:, N_SPECIAL_TOKENS:]
    hidden = position.shape[-1]
    if patches.shape[1] != f_old * t_old:
        raise CheckpointError(f"position embeddings hold {patches.shape[1]} patches, expected {f_old} x {t_old}")
    grid = patches.reshape(1, f_old, t_old, hidden).permute(0, 3, 1, 2)  # (1, hidden, F, T)
    grid = F.interpolate(grid.float(), size=(f_new, t_new), mode="bilinear", align_corners=False).to(position.dtype)
    patches = grid.permute(0, 2, 3, 1).reshape(1, f_new * t_new, hidden)
    return torch.cat([special, patches], dim=1)


# --------------------------------------------------------------------------- checkpoints


def regressor_checkpoint(model: SpectrogramRegressor, cfg: Config, normalization: dict, epoch: int, val: dict) -> dict:
    """The ``ast/best.pt`` payload: tensors and plain data only (loads with weights_only=True).

    ``model``: the state_dict of ``ASTForAudioClassification`` (HF key names);
    ``normalization``: {"mean", "std", "source"}; ``val``: validation metrics of that epoch.
    """
    return {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "model_class": model.model_class,
        "config": cfg.to_dict(),
        "ast_config": ast_config_to_dict(model.ast_config),
        "normalization": dict(normalization),
        "epoch": int(epoch),
        "val": val,
    }


def ast_config_to_dict(ast_config: ASTConfig) -> dict:
    """The AST config as plain data (no torch dtypes), enough to rebuild the architecture offline."""
    return _plain_config(ast_config)


def _plain_config(ast_config: ASTConfig) -> dict:
    return {k: (str(v) if isinstance(v, torch.dtype) else v) for k, v in ast_config.to_dict().items()}


def load_regressor(path: str | Path) -> tuple[SpectrogramRegressor, Config]:
    """Rebuild the regressor of a checkpoint from its own saved configs (never reaches the hub).

    Returns the model in eval mode on the CPU, and the experiment config it was trained with. The
    checkpoint's ``normalization`` entry says how inputs must be normalised.
    """
    return regressor_and_config(load_checkpoint(path, produced_by="train-ast"), str(path))


def regressor_and_config(ckpt: dict, name: str) -> tuple[SpectrogramRegressor, Config]:
    """The model (eval mode, CPU) and the experiment config of a loaded checkpoint dict."""
    missing = [k for k in ("model", "config", "ast_config") if k not in ckpt]
    if missing:
        raise CheckpointError(f"{name}: not an AST regressor checkpoint (missing {missing})")
    cfg = Config.from_dict(ckpt["config"], source=f"{name} (saved config)")
    return regressor_from_checkpoint(ckpt, name).eval(), cfg


def is_legacy_checkpoint(ckpt: dict) -> bool:
    """True for an earlier astgan payload (a plain linear ``head`` instead of the HF ``classifier``)."""
    return "head.weight" in ckpt["model"]


def regressor_from_checkpoint(ckpt: dict, name: str = "checkpoint") -> SpectrogramRegressor:
    """The model of a loaded checkpoint dict: architecture from its ``ast_config``, then its weights.

    An earlier astgan checkpoint (linear head) becomes a :class:`LegacyASTRegressor`, which
    predicts as before.
    """
    ast_config = ASTConfig.from_dict({k: v for k, v in ckpt["ast_config"].items() if k != "dtype"})
    state = ckpt["model"]
    if is_legacy_checkpoint(ckpt):
        log.warning(f"{name}: an earlier astgan checkpoint (linear head); it predicts as before, but `astgan export` "
                    "needs a model retrained with `astgan train-ast`")
        model = LegacyASTRegressor(ast_config)
        state = {_hf_encoder_key(k): v for k, v in state.items()}
    else:
        model = ASTRegressor(ast_config)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{name}: weights do not match the saved AST config ({err})") from None
    return model


def _hf_encoder_key(key: str) -> str:
    """Earlier astgan named the encoder ``encoder.``; Hugging Face names it ``audio_spectrogram_transformer.``."""
    return ENCODER + key[len("encoder"):] if key.startswith("encoder.") else key
