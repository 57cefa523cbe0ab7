"""Start Solara's server for `negsim viz` so that it calls nobody.

Production mode (development mode contacts the package index, a telemetry service and
solara's site), no version check, telemetry off, and the asset proxy on (its default): the
browser then loads Solara's front-end from ``/_solara/cdn/`` on this server, which serves the
files the ``solara-assets`` package installs under the environment's prefix. With the proxy
off the browser would ask a CDN for them, and offline the page stays blank."""

from __future__ import annotations

import json
import os
import socket
import warnings

#: Solara's settings, as environment variables (read when solara is first imported).
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_PROXY": "True",
}


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check_port(host: str, port: int) -> str | None:
    """None when the server can listen on host:port, else why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve host {host!r} ({exc.strerror or exc})"
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind(addr)
        except OSError as exc:
            return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return None


def serve(config: dict, host: str, port: int) -> None:
    """Serve the page for `config` (see :mod:`sim.viz._page`) on host:port until stopped."""
    os.environ["NEGSIM_VIZ"] = json.dumps(config)
    os.environ.update(OFFLINE_ENV)
    import solara.settings
    from solara.__main__ import run
    from solara.server import settings

    # served over http to 127.0.0.1 rather than "localhost", Solara warns about its cookie
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    settings.telemetry.mixpanel_enable = False
    solara.settings.assets.proxy = True  # off by default where VS Code or Colab is detected
    run.main(args=["sim.viz._page", "--host", host, "--port", str(port), "--production",
                   "--no-check-version", "--no-open", "--log-level", "warning"],
             standalone_mode=False)
