"""What Weft ships besides its code: the operator library, the examples, the JSON Schema, the
icons. Installed as the package ``weft_resources`` (``pyproject.toml`` maps this folder to that
name); read it through ``engine.shipped``, never by a path relative to the source tree."""
