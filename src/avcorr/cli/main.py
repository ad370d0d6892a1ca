"""Entry point of the ``avcorr`` command.

Every module of :mod:`avcorr.cli` (other than this one and ``common``) defines
``register(app)``; adding a subcommand means adding a module, nothing else. User errors
(:class:`avcorr.errors.AvcorrError`) become a one-line message and exit code 2; ``--debug``
shows the traceback.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import sys

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import typer  # noqa: E402

import avcorr.cli  # noqa: E402
from avcorr.cli import common  # noqa: E402
from avcorr.errors import AvcorrError  # noqa: E402

_SKIP = {"main", "common"}
#: Exit statuses: 0 done, 1 some inputs failed (listed; the output is complete), 2 usage or user
#: error, 3 internal error (a bug: one line, --debug for the traceback), 128 + N stopped by signal N.
INTERNAL_ERROR = 3


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="avcorr",
        help="Audio-visual deepfake detection by explicit correlation learning.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
        common.STATE.debug = debug

    for info in sorted(pkgutil.iter_modules(avcorr.cli.__path__), key=lambda m: m.name):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"avcorr.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    app = build_app()
    try:
        # With standalone_mode=False click *returns* the code of a typer.Exit instead of raising.
        result = app(args=argv, standalone_mode=False)
    except AvcorrError as exc:
        if common.STATE.debug:
            raise
        print(f"avcorr: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # typer.Exit inside commands
        return int(exc.code or 0)
    except Exception as exc:  # click's (typer-vendored) usage errors and the like, matched by shape
        name = type(exc).__name__
        if name == "Exit" and hasattr(exc, "exit_code"):
            return int(exc.exit_code)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(exc.exit_code)
        if name == "Abort":
            print("avcorr: aborted", file=sys.stderr)
            return 130
        if common.STATE.debug:
            raise
        print(f"avcorr: internal error: {exc.__class__.__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return INTERNAL_ERROR
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
