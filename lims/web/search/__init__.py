"""The search page, its facets and the user's saved searches."""
