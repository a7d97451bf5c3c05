"""The conditional spectrogram GAN: the networks (``models`` builds ``grid2d`` or ``time1d`` from the
blocks in ``layers``), the losses and stabilisation rules (``losses``), training (``train``, with
the steps in ``updates`` and the per-epoch ``sample_probe``), drawing a synthetic set
(``synthesis``), judging it against real data (``quality``, ``reference_sets``, ``judge``) and the
figures of both (``figures``)."""
