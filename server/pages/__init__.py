"""HTML pages of the API (landing page, collections, a collection, its items, an item)."""
