"""astgan: music emotion recognition with a conditional spectrogram GAN and an AST regressor."""

__version__ = "0.1.0"
