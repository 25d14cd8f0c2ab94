"""The ``attrbench`` command line, one module per command.

A command module defines ``HELP``, ``add_parser(subparsers)`` and ``run(args) -> int``
and is listed in :data:`COMMANDS`; heavy imports (torch, plugins) happen inside
``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType
from typing import NoReturn

__all__ = ["main", "build_parser", "COMMANDS"]

#: Command name -> module of ``attrbench.cli`` that implements it.
COMMANDS = {
    "run": "run",
    "train": "train",
    "leaderboard": "leaderboard",
    "list": "listing",
    "report": "report",
    "compare": "compare",
    "publish": "publish",
    "explain": "explain",
    "bench": "bench",
}


def _module(command: str) -> ModuleType:
    return importlib.import_module(f"attrbench.cli.{COMMANDS[command]}")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``attrbench: error: ...``, exit 2."""

    def error(self, message: str) -> NoReturn:
        sub = self.prog.split(" ", 1)[1] + " " if " " in self.prog else ""
        print(f"attrbench: error: {message} (see `attrbench {sub}--help`)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``attrbench``."""
    from attrbench import __version__
    from attrbench.cli.common import EPILOG

    parser = Parser(
        prog="attrbench",
        description="Benchmark attribution methods on biological sequence models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"attrbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        _module(command).add_parser(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from attrbench.core.contract import ContractError, SequenceError
    from attrbench.core.registry import PluginError, RegistryError, UnknownNameError

    return (
        UnknownNameError,
        PluginError,
        RegistryError,
        SequenceError,
        ContractError,
        OSError,
        ValueError,
        RuntimeError,
    )


def _message(exc: BaseException) -> str:
    """One line for a user error; an ``OSError`` names its file."""
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in str(exc.args[-1]):
        text = f"{exc.filename}: {exc.strerror or exc}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``attrbench`` console script; returns the exit code."""
    from attrbench.cli.logs import setup_logging

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a parse error already printed
        return exc.code if isinstance(exc.code, int) else 2
    with setup_logging():
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    from attrbench.cli.common import set_threads

    try:
        set_threads(args)  # before anything imports torch
        from attrbench.core.registry import load_plugin_file

        for path in args.plugin:
            added = load_plugin_file(path)
            print(f"plugin {path}: registered {', '.join(added)}", file=sys.stderr)
        code: int = _module(args.command).run(args)
        return code
    except BrokenPipeError:  # the reader of stdout went away (`attrbench list methods | head`)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished cells are saved; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except _user_errors() as exc:
        print(f"attrbench: error: {_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
