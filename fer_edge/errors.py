"""One error type for every bad input: the CLI prints its message on one line and exits non-zero."""


class FerEdgeError(Exception):
    """A problem the user can fix (bad file, bad option); never shown with a traceback."""

    exit_code = 1


class NotImplementedYet(FerEdgeError):
    exit_code = 2
