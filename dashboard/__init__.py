"""The Micropathways dashboard (Dash): a factor network and a saved-query workbench.

``dashboard.app`` creates the app; each page is a module of ``dashboard.pages``; every component id
lives in ``dashboard.ids``; ``dashboard.services`` is the only code that talks to the graph.
Nothing here touches the database at import time.
"""
