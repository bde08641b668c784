"""Expected failures, each with a message that says what happened and what to do next."""


class BotError(Exception):
    """An expected failure we can explain to the user."""


class IndexNotFound(BotError):
    """No index at the configured path."""


class IndexMismatch(BotError):
    """The index was built with other settings (embedder, format)."""


class UnknownBackend(BotError, KeyError):
    """A backend name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class BackendError(BotError):
    """An embedding or LLM backend failed (missing package, network, bad key)."""


class InvalidQuery(BotError):
    """A question or search query that cannot be handled (empty, too long)."""


class DocumentNotFound(BotError):
    """No document with that id in the index."""


class StoreError(BotError):
    """The conversation store cannot be opened or is not migrated."""
