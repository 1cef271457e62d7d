"""`presswatch serve`: the analyst's web view of the database, read only.

``reads`` and ``search`` read what the pages and the JSON API show (one set of functions for
both), ``highlight`` marks watchlist hits in stored text, ``svgchart`` draws the mentions per
day, ``security`` holds authentication, sessions, CSRF and the response headers, ``app`` the
routes and templates, and ``server`` the checks made before listening and the uvicorn server.
"""
