"""The conditional spectrogram GAN: models (``models``), the training recipe (``recipe``), the
training loop (``train``) and its figures (``figures``)."""
