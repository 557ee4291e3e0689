"""One module per ``srnas`` sub-command; each defines ``HELP`` and ``main(argv)``."""
