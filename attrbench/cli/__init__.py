"""The ``attrbench`` command line, one module per command.

A command module defines ``HELP``, ``add_parser(subparsers)`` and ``run(args) -> int``
and is listed in :data:`COMMANDS`; heavy imports (torch, plugins) happen inside
``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "build_parser", "COMMANDS"]

#: Command name -> module of ``attrbench.cli`` that implements it.
COMMANDS = {"run": "run", "train": "train", "leaderboard": "leaderboard", "list": "listing",
            "report": "report", "publish": "publish", "explain": "explain",
            "bench": "bench"}


def _module(command: str):
    return importlib.import_module(f"attrbench.cli.{COMMANDS[command]}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``attrbench``."""
    from attrbench import __version__
    from attrbench.cli.common import EPILOG

    parser = argparse.ArgumentParser(
        prog="attrbench", description="Benchmark attribution methods on biological sequence models.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"attrbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        _module(command).add_parser(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from attrbench.contract import ContractError, SequenceError
    from attrbench.registry import PluginError, RegistryError, UnknownNameError

    return (UnknownNameError, PluginError, RegistryError, SequenceError, ContractError,
            FileNotFoundError, ValueError, RuntimeError)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``attrbench`` console script; returns the exit code."""
    from attrbench.cli.common import set_threads

    args = build_parser().parse_args(argv)
    try:
        from attrbench.registry import load_plugin_file

        for path in args.plugin:
            added = load_plugin_file(path)
            print(f"plugin {path}: registered {', '.join(added)}", file=sys.stderr)
        set_threads(args)
        return _module(args.command).run(args)
    except KeyboardInterrupt:
        print("\ninterrupted: finished cells are saved; run the same command again to resume",
              file=sys.stderr)
        return 130
    except _user_errors() as exc:
        print(f"attrbench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
