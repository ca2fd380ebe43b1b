"""The JSON API under /api/ and its OpenAPI document.

`views` holds the blueprint and what every route shares; `leads` adds its routes to it. Importing the package
imports both, so whoever registers the blueprint registers every route (and `views` needs no import of `leads`,
which would be a cycle).
"""
from . import leads  # noqa: F401
