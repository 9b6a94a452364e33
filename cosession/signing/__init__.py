"""Where the token-signing secret comes from when ``--secret`` is not given (see ``shared``)."""
