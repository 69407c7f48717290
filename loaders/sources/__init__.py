"""Built-in sources; importing this package registers them."""

from loaders.sources import (
    coded,  # noqa: F401
    gva,  # noqa: F401
    london_mps,  # noqa: F401
    mapped_csv,  # noqa: F401
    rdf,  # noqa: F401
    shr,  # noqa: F401
)
