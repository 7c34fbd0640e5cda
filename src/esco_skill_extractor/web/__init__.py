"""The web page for people at ``/ui``: server-rendered Jinja2, one script, one stylesheet.

Served on the same app as the API (:func:`esco_skill_extractor.server.create_app` includes
:data:`routes.router` and mounts the static files); no build step and no Node.js. The page
calls the HTTP API from the browser (``/extract-rich``, ``/extract-pdf-skills``,
``/health``).
"""

from __future__ import annotations
