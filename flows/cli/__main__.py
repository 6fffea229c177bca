"""``python -m flows.cli``: the ``defwatch`` command."""

from flows.cli.app import main

main()
