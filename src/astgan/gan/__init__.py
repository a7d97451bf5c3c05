"""The conditional spectrogram GAN: the networks (``models`` builds ``grid2d`` or ``time1d`` from the
blocks in ``layers``), the losses and stabilisation rules (``losses``), training (``train``, with
the steps in ``updates`` and the per-epoch ``sample_probe``) and the figures of training
(``figures``). Drawing a synthetic set and judging it against real data is the next stage,
:mod:`astgan.synthetic`; the GAN knows nothing of the regressor."""
