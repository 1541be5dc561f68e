"""The package's one error type for bad input."""


class RoloInputError(ValueError):
    """Bad input data or settings. The message names the file (and line) or the setting."""
