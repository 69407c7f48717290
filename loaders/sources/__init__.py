"""Built-in sources; importing this package registers them."""

from loaders.sources import (
    gva,  # noqa: F401
    london_mps,  # noqa: F401
    shr,  # noqa: F401
)
