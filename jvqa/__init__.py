"""jvqa: blind (no-reference) video quality assessment in JAX/Flax."""

from jvqa.errors import JvqaError

__version__ = "0.1.0"
__all__ = ["JvqaError", "__version__"]
