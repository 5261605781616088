"""`python -m govlib.cli`: the `govlib` command."""

from govlib.cli import entry

entry()
