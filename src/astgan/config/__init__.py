"""The experiment config: one typed dataclass per section, YAML in and out, ``--set`` overrides.

``from astgan.config import Config, load_config`` is all most code needs:

- :mod:`~astgan.config.experiment`: :class:`Config` (every section), loading and saving YAML, the packaged configs;
- :mod:`~astgan.config.sections`: the sections and their rules; :mod:`~astgan.config.gan`: the ``gan`` section;
- :mod:`~astgan.config.values`: typed values from YAML, ``--set`` overrides, unknown keys.
"""

from astgan.config.experiment import (
    Config,
    config_text,
    config_to_yaml,
    load_config,
    packaged_configs,
    save_run_config,
)
from astgan.config.gan import GAN_RECIPES, GanConfig
from astgan.config.sections import (
    AstConfig,
    DataConfig,
    EvalConfig,
    FeaturesConfig,
    RunConfig,
    SplitConfig,
    StudyConfig,
    SynthConfig,
)

__all__ = ["GAN_RECIPES", "AstConfig", "Config", "DataConfig", "EvalConfig", "FeaturesConfig", "GanConfig", "RunConfig",
           "SplitConfig", "StudyConfig", "SynthConfig", "config_text", "config_to_yaml", "load_config",
           "packaged_configs", "save_run_config"]
