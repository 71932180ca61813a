"""Errors that reach a person, as opposed to bugs.

A `UserError` carries one sentence that the CLI prints on stderr (exit 2) and the
window shows in a message box. Anything else is a bug and is logged with its traceback.
"""


class UserError(Exception):
    """Bad input: a wrong path, an unknown option, an unreadable file. Exit code 2."""

    exit_code = 2


class CheckFailed(Exception):
    """A check ran and the thing checked did not pass. Exit code 1."""

    exit_code = 1


def as_sentence(error: Exception | str) -> str:
    """A UserError's words (written to follow 'tessera: error: ') as a sentence of its own, for a dialog."""
    text = str(error).strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
