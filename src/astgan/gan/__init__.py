"""The conditional spectrogram GAN: the networks (``models``), the losses and stabilisation rules
(``losses``), training (``train``), drawing a synthetic set (``synthesis``), judging it against
real data (``quality``) and the figures of both (``figures``)."""
