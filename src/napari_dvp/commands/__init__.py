"""Sub-commands of the ``napari-dvp`` command line.

Each module here is one sub-command and defines ``NAME`` (the word typed on
the command line), ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. :mod:`napari_dvp.cli` finds them by itself, so adding a
command never edits a shared file. Heavy imports belong inside ``run``.
"""
