"""Errors that mean something to the person running evalrun.

The CLI turns each into a one-line message and an exit code; anything else is
a bug and gets a traceback only with --debug.
"""


class EvalrunError(Exception):
    """Base class: carries the exit code the CLI should use."""

    exit_code = 1


class InputError(EvalrunError):
    """Bad input from the user (paths, names, data files, suite files): exit 2."""

    exit_code = 2


class RunError(EvalrunError):
    """The run itself failed (engine crash, server unreachable): exit 1."""

    exit_code = 1
