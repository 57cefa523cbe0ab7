"""`negsim viz`: an interactive view of one run, on Mesa's SolaraViz, that works offline.

``knobs`` (the model the page steps, its parameters, and what the panels read from it) and
``ensemble`` (replicates of the current settings on the project's process pool) import no
browser code; ``app`` holds the Solara components and ``server`` starts Solara's server. Solara
and ``mesa.visualization`` are an optional dependency (``pip install 'negsim[viz]'``), imported
only by ``app`` and ``server``.
"""

from __future__ import annotations

VIZ_EXTRA_HINT = ("negsim viz needs the viz extra: pip install 'negsim[viz]' "
                  "(from a source tree: pip install -e '.[viz]')")


def viz_available() -> str | None:
    """None when the viz extra is installed, else why not (the missing module)."""
    import importlib.util
    from importlib import metadata

    for mod in ("solara", "ipyvuetify", "mesa.visualization"):
        try:
            found = importlib.util.find_spec(mod)
        except (ImportError, ValueError):
            found = None
        if found is None:
            return mod
    try:  # the front-end, served from this machine (no module: files under the prefix)
        metadata.version("solara-assets")
    except metadata.PackageNotFoundError:
        return "solara-assets"
    return None
