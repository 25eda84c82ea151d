"""The error types jvqa raises for bad input.

Every user-facing entry point (``jvqa`` subcommands, ``launch.py``) turns a
``JvqaError`` into one line on stderr and a non-zero exit, never a traceback.
"""


class JvqaError(Exception):
  """Base class of the errors jvqa reports to a user as one line."""


class ConfigError(JvqaError, ValueError):
  """A config names an unknown job, key or value."""


class InputError(JvqaError, ValueError):
  """A file or an array given by the user cannot be used; the message names it."""

  def __init__(self, source, reason: str):
    self.source = str(source)
    self.reason = reason
    super().__init__(f"{self.source}: {reason}")


class VideoError(InputError):
  """A video (container file, bytes or raw YUV) that cannot be read.

  Raised for missing, empty, truncated, non-video, audio-only and zero-frame
  inputs; the message is ``<file>: <reason>``.
  """


class MetricError(JvqaError, ValueError):
  """Scores that no correlation can be computed from (lengths, NaN, constants)."""


class ConvertError(InputError):
  """A PyTorch checkpoint that does not map onto a jvqa model.

  The message names the checkpoint file and the key (missing, left over, or
  of another shape); a conversion never skips a key silently.
  """
