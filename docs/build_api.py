"""Build the API reference from the docstrings, with pdoc, into a folder of HTML pages.

    python docs/build_api.py [OUT]        (OUT defaults to build/api; `make docs` runs this)

Any warning while building (a type annotation pdoc cannot resolve, a module that fails to
import) fails the build with exit code 1 and the list of warnings, so the tests can hold the
reference to building cleanly.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

#: What the reference leaves out: the command line (documented by `negsim --help`). Private
#: modules (a leading underscore, such as the page `negsim viz` serves) are left out too.
EXCLUDED = ("sim.cli", "sim.__main__")


def modules() -> list[str]:
    """The documented modules: the package and every module and subpackage in it (pdoc
    documents a subpackage's own modules with it), but those :data:`EXCLUDED`."""
    import pkgutil

    import sim

    found = [f"sim.{m.name}" for m in pkgutil.iter_modules(sim.__path__)]
    return ["sim", *sorted(m for m in found if m not in EXCLUDED)]


def build(out: Path) -> list[str]:
    """Render the reference into `out`; return the warnings raised while building."""
    import pdoc
    import pdoc.render

    names = modules()
    _name_type_parameters(names)
    pdoc.render.configure(docformat="restructuredtext", show_source=True,
                          footer_text="negsim API reference")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # "!" patterns drop modules from what the specs walked: the excluded ones and every
        # private one (a name part with a leading underscore)
        pdoc.pdoc(*names, *(f"!{re.escape(m)}" for m in EXCLUDED), r"!.*\._",
                  output_directory=out)
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def _name_type_parameters(modules: list[str]) -> None:
    """Make the type parameters of the library classes we inherit from resolvable where pdoc
    looks for them.

    Mesa's classes are generic in PEP 695 syntax (``class Model[A: Agent, S: Scenario]``,
    ``class Agent[M: Model]``), and the annotations of their members, which our model and
    agents inherit, name those parameters. pdoc 16 evaluates an annotation in its module's
    namespace only, where a class's own type parameters are not, so it cannot resolve them
    and warns. Binding each parameter under its name in the module that defines the class
    resolves them to the very objects the library defines; a name the module already binds
    is left alone.
    """
    import importlib
    import inspect

    for name in modules:
        for _, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            for base in cls.__mro__:
                home = sys.modules.get(base.__module__)
                if home is None or base.__module__.split(".")[0] == "sim":
                    continue
                for param in getattr(base, "__type_params__", ()):
                    if not hasattr(home, param.__name__):
                        setattr(home, param.__name__, param)


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "build/api")
    problems = build(out)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"docs: {len(problems)} warning(s) while building the API reference",
              file=sys.stderr)
        return 1
    print(f"docs: API reference written to {out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
