"""``python -m esco_skill_extractor``: the CLI, or the server in the PyPI package's spelling.

With no arguments, or only options and no command (``-m MODEL -s 0.6 -p 9000``, as the
PyPI package's server took them), this starts the HTTP server: ``serve`` with those
options. ``python -m esco_skill_extractor <command> ...`` is the CLI, as
``esco-skill-extractor <command> ...``; ``--help`` and ``--version`` show the CLI's.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

_CLI_ONLY = {"-h", "--help", "--version"}


def route(args: Sequence[str], commands: Sequence[str]) -> list[str]:
    """The CLI arguments for ``python -m`` arguments: ``serve`` is added when no command
    is named."""
    if any(arg in _CLI_ONLY or arg in commands for arg in args):
        return list(args)
    return ["serve", *args]


def main(argv: Sequence[str] | None = None) -> None:
    from .cli import cli

    args = route(sys.argv[1:] if argv is None else argv, list(cli.commands))
    cli.main(args=args, prog_name="python -m esco_skill_extractor")


if __name__ == "__main__":
    main()
