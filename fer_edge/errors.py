"""One error type for every bad input: the CLI prints its message on one line and exits non-zero."""


class FerEdgeError(Exception):
    """A problem the user can fix (bad file, bad option); never shown with a traceback."""

    exit_code = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (systemd stopping a service, `timeout`, a closed SSH session): handled as
    Ctrl-C is, so a run keeps its outputs and training saves its checkpoint; the exit status is
    128 + the signal's number, as the shell reports a process killed by it."""

    def __init__(self, signum: int):
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum, self.exit_code = signum, 128 + signum

    def __reduce__(self):  # rebuilt from the number, not the name (pickle, copy)
        return type(self), (self.signum,)
