"""Built-in sources; importing this package registers them."""

from loaders.sources import london_mps  # noqa: F401
