"""The exceptions dipbench raises for bad input.

Every one of them is a :class:`DipbenchError`; the CLI and the workflow print its message on one line
instead of a traceback.
"""


class DipbenchError(Exception):
    """Base class: a problem the user can fix, reported as one line."""


class ConfigError(DipbenchError):
    """An invalid configuration: unknown method, task, parameter or dataset."""


class ImageError(DipbenchError):
    """An image that cannot be read, or whose mode or size does not fit the task."""


class MissingDependencyError(DipbenchError):
    """An optional package (e.g. bm3d) that a method needs is not installed."""


class DownloadError(DipbenchError):
    """A file could not be fetched from any mirror."""


class ChecksumError(DownloadError):
    """A fetched or cached file does not have the registered sha256."""


class DivergenceError(DipbenchError):
    """An optimisation produced NaN or infinite values."""


class MethodError(DipbenchError):
    """A method broke its output contract (:mod:`dipbench.methods.contract`), or a plugin's method raised."""
