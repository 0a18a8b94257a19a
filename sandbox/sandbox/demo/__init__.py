"""The demo launcher: the whole stack on the sandbox, in one command (`paguito-sandbox demo`)."""
