"""Errors a user can act on.

Every error raised for bad input, bad configuration or a command run out of order derives from
:class:`AstganError`. The CLI prints such errors as one line (no traceback unless ``--debug``);
anything else is a bug and keeps its traceback.
"""


class AstganError(Exception):
    """Base class: the message says what is wrong, where, and what to do."""


class ConfigError(AstganError):
    """A configuration key, type or value is invalid."""


class DataError(AstganError):
    """The dataset on disk is missing, malformed or empty."""


class MissingArtifactError(AstganError):
    """A stage needs the output of an earlier stage that is not in the run folder."""


class CheckpointError(AstganError):
    """A checkpoint is unreadable or was built with an incompatible configuration."""
