"""The ``gan`` section of the config: the conditional GAN's networks and its training recipes.

A recipe (:data:`GAN_RECIPES`) is a set of training rules chosen together; any rule can still be
set on its own, and a key left unset (null) takes the chosen recipe's value (:meth:`GanConfig.resolved`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from astgan.config.values import fail, require_positive, require_range

# Training recipes of the GAN. A gan.* key left unset (null) takes its value from the chosen recipe.
GAN_RECIPES: dict[str, dict[str, Any]] = {
    # The regularised recipe (the default), chosen by the synthetic quality report on the demo:
    # hinge loss, spectral norm on D, a projection discriminator that also reads the labels (the
    # auxiliary label loss, at half weight: at 1.0 generators exaggerated the valence cues and
    # their label fidelity varied 3-8x more from seed to seed), a lazy R1 penalty on real
    # segments (gamma 4: with the discriminator reading frame-to-frame changes, gamma 1 left the
    # label fidelity of three seeds 0.23 apart in CCC, gamma 4 within 0.05), a faster
    # discriminator (TTUR), synthesis from an exponential moving average of G; no label
    # smoothing, no extra G steps, no clipping, constant learning rates.
    "modern": {
        "conditioning": "projection", "label_loss_weight": 0.5, "loss": "hinge",
        "lr_g": 4e-4, "lr_d": 8e-4, "betas": (0.0, 0.99),
        "real_label_range": (1.0, 1.0), "fake_label_range": (0.0, 0.0), "extra_g_step_threshold": 1.0,
        "grad_clip": 0.0, "lr_gamma": 1.0, "spectral_norm": True, "r1_weight": 4.0, "ema_decay": 0.99,
    },
    # The DCGAN-era recipe: BCE with one-sided noisy labels (real 0.8..1.0, fake 0.0..0.2), D loss
    # averaged over real and fake, generator lr twice the discriminator's, a second G update when D's
    # accuracy exceeds 0.8, gradient clipping at 1.0, ExponentialLR (0.99 an epoch), conditions
    # concatenated to z and to D's input, no R1, no EMA. Its healthy loss bands are drawn in losses.png.
    "classic": {
        "conditioning": "concat", "label_loss_weight": 0.0, "loss": "bce",
        "lr_g": 2e-4, "lr_d": 1e-4, "betas": (0.5, 0.999),
        "real_label_range": (0.8, 1.0), "fake_label_range": (0.0, 0.2), "extra_g_step_threshold": 0.8,
        "grad_clip": 1.0, "lr_gamma": 0.99, "spectral_norm": False, "r1_weight": 0.0, "ema_decay": 0.0,
    },
}


@dataclass
class GanConfig:
    """Conditional spectrogram GAN: the networks and the training recipe.

    Keys left unset (null) take the value of ``recipe`` (see :data:`GAN_RECIPES`); read the
    effective values with :meth:`resolved`.
    """

    epochs: int = 30
    batch_size: int = 32
    # grid2d: a 1-D trunk over time lifted onto a 2-D (frequency x time) grid of 2-band x 8-frame
    # patches, refined by a 2-D convolution and decoded by a sub-pixel convolution (D mirrors it);
    # time1d: 1-D convolutions over time with the mel bands as channels (the first release's pair)
    architecture: Literal["grid2d", "time1d"] = "grid2d"
    latent_dim: int = 128
    channels: int = 64  # width of the widest 1-D (time) convolution block of G and D
    grid_channels: int = 8  # grid2d: channels of the 2-D grid
    # grid2d: the noise z, not only the condition, sets the gain and bias of every conditional norm
    # of G (label-independent variety such as timbre reaches every layer); false = the 0.2 generator
    latent_film: bool = True
    condition_dim: int = 32  # size of the embedded (valence, arousal) condition
    # D also reads every band's frame-to-frame change (x[t] - x[t-1]) beside the segment: onsets,
    # articulation and the generator's frame-to-frame jitter show there directly; false = the 0.3 D
    d_deltas: bool = True
    # grid2d: D also reads the segment near full resolution with a small patch critic (2 x 2 pooled,
    # three stride-2 3 x 3 convolutions, logits averaged) whose logit is added to the grid path's: the texture
    # inside a 2 x 8 patch, which the grid path sees only through one linear map (issue 23)
    d_local: bool = False
    recipe: Literal["modern", "classic"] = "modern"
    # --- each key below: null = the recipe's value
    # concat: the embedded condition joins z and D's input; projection: D adds
    # <embedded condition, features> to its logit (Miyato & Koyama 2018)
    conditioning: Literal["concat", "projection"] | None = None
    # > 0: D also regresses (valence, arousal) from its condition-free features (projection only);
    # D learns it on real segments, G is penalised when D reads another label off its fakes
    label_loss_weight: float | None = None
    loss: Literal["bce", "hinge"] | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] | None = None
    real_label_range: tuple[float, float] | None = None  # BCE targets, drawn per sample (label smoothing)
    fake_label_range: tuple[float, float] | None = None
    # a second generator update in a step where D's accuracy (mean of real and fake) exceeds this; 1 = never
    extra_g_step_threshold: float | None = None
    grad_clip: float | None = None  # max gradient norm of both networks; 0 = no clipping
    lr_gamma: float | None = None  # ExponentialLR factor per epoch on both optimisers; 1 = constant
    spectral_norm: bool | None = None  # on every layer of D
    r1_weight: float | None = None  # gamma of the R1 penalty (gamma / 2 |grad D(real)|^2); 0 = off
    ema_decay: float | None = None  # generator weights averaged with this decay per step, used for synthesis; 0 = off
    # ---
    r1_every: int = 4  # lazy R1: the penalty every N discriminator steps, scaled by N
    d_steps: int = 1
    # > 0: G's loss also counts, at this weight, the gap between its batch's frame-to-frame statistics
    # (per band: mean change, autocorrelation at lags 1, 4, 16; their batch mean and spread) and the
    # real batch's (issue 23: those statistics told the default generator's segments from real ones)
    motion_match: float = 0.0
    sample_every: int = 5  # epochs between sample figures
    # Train exactly this many optimiser steps instead of gan.epochs passes over TRAIN (null = the
    # passes). The epochs are then as many as the steps need, the last one cut short, and lr_gamma is
    # spread over them so that the learning rate ends where gan.epochs epochs would leave it. The study
    # sets it so that every budget's GAN trains as long as the full budget's (equal GAN training).
    steps: int | None = None

    def resolved(self) -> GanConfig:
        """A copy with every unset key filled from the recipe."""
        recipe = GAN_RECIPES[self.recipe]
        return dataclasses.replace(self, **{key: value for key, value in recipe.items() if getattr(self, key) is None})

    def check(self) -> None:
        if self.recipe not in GAN_RECIPES:
            fail("gan.recipe", f"must be one of {', '.join(GAN_RECIPES)}, got '{self.recipe}'")
        gan = self.resolved()
        require_positive(
            "gan", gan, "epochs", "batch_size", "latent_dim", "channels", "grid_channels", "condition_dim",
            "lr_g", "lr_d", "lr_gamma", "d_steps", "sample_every", "r1_every",
        )
        if gan.steps is not None and gan.steps < 1:
            fail("gan.steps", f"must be >= 1 or null, got {gan.steps}")
        require_range("gan.real_label_range", gan.real_label_range, 0.0, 1.0)
        require_range("gan.fake_label_range", gan.fake_label_range, 0.0, 1.0)
        require_range("gan.betas", gan.betas, 0.0, 0.999999)
        if not 0.5 <= gan.extra_g_step_threshold <= 1.0:
            fail("gan.extra_g_step_threshold", f"must be in [0.5, 1], got {gan.extra_g_step_threshold}")
        for name in ("label_loss_weight", "grad_clip", "r1_weight", "motion_match"):
            if getattr(gan, name) < 0:
                fail(f"gan.{name}", f"must be >= 0, got {getattr(gan, name)}")
        if not 0.0 <= gan.ema_decay < 1.0:
            fail("gan.ema_decay", f"must be in [0, 1), got {gan.ema_decay}")
        if gan.d_local and gan.architecture != "grid2d":
            fail("gan.d_local", f"needs gan.architecture=grid2d, got '{gan.architecture}'")
        if gan.label_loss_weight > 0 and gan.conditioning != "projection":
            fail("gan.label_loss_weight", "needs gan.conditioning=projection (with concat the discriminator "
                  "sees the condition in its input and could copy it)")
