"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""


class PainsignError(Exception):
    """An error the user can act on; its message says what is wrong and how to fix it.

    Parameters
    ----------
    message : str
        One line naming the bad value and the fix.
    exit_code : int
        Exit status the command-line interface returns for this error.
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class ModelFileError(PainsignError):
    """A model file is missing, truncated, altered or unreadable."""


class InputError(PainsignError):
    """An input (image, video, option) is unusable."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message, exit_code)
