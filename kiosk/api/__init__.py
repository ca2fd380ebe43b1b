"""The JSON API under /api/ and its OpenAPI document.

`views` holds the blueprint and what every route shares; `phone` and `leads` add their routes to it, and
`blueprint` imports them all and registers it once (`views` imports neither: that would be a cycle).
"""
