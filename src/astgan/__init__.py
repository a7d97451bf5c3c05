"""astgan: music emotion recognition with a conditional spectrogram GAN and an AST regressor.

The public API (see :mod:`astgan.api`) is imported on first use, so ``import astgan`` stays fast::

    import astgan
    model = astgan.load_model("runs/demo")             # a run folder or an `astgan export` folder
    songs = model.predict(["song.mp3", "music/"])      # DataFrame: path, duration_s, n_segments, valence, arousal

Stages: ``astgan.load_config``, ``extract``, ``train_gan``, ``synthesize``, ``train_ast``,
``evaluate``, ``run_study``, ``export``, ``predict``.
"""

__all__ = ["Model", "__version__", "evaluate", "export", "extract", "load_config", "load_model", "predict",
           "run_study", "synthesize", "train_ast", "train_gan"]

_API = set(__all__) - {"__version__"}


def __getattr__(name: str):
    if name == "__version__":  # from the installed package's metadata, read on first use
        from astgan.artifacts import package_version

        return package_version()
    if name in _API:
        from astgan import api

        return getattr(api, name)
    raise AttributeError(f"module 'astgan' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _API | {"__version__"})
