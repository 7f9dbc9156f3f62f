"""The one exception type of the local Elasticsearch launcher.

Every failure a developer can fix (Java missing, port taken, node refusing to start) is raised as
:class:`EsLocalError` with a one-line message that names what to change, so the CLI can print it as is and
tests can show it without a traceback through subprocess plumbing.
"""


class EsLocalError(RuntimeError):
    """A local node could not be built, started, reached or stopped; the message says why and what to do."""
