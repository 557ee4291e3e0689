"""Run BasicSR's train pipeline on an srnas-validated option file (CPU resume included).

``run_train`` is what ``srnas train`` calls; other commands (``srnas search``, the demo)
reuse it with their own option files.
"""
import contextlib
import logging
import os
import sys

from srnas.basicsr_compat import register_plugins
from srnas.utils.options import load_options


def basicsr_argv(opt_path, auto_resume=False, debug=False, overrides=None, launcher='none'):
    """The argv BasicSR's ``parse_options`` expects."""
    argv = ['srnas', '-opt', str(opt_path), '--launcher', launcher]
    if auto_resume:
        argv.append('--auto_resume')
    if debug:
        argv.append('--debug')
    if overrides:
        argv += ['--force_yml', *overrides]
    return argv


@contextlib.contextmanager
def patched_argv(argv):
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


@contextlib.contextmanager
def cpu_safe_resume():
    """Swap BasicSR's CUDA-only ``load_resume_state`` for srnas' version while the pipeline runs."""
    import basicsr.train
    from srnas.utils.resume import load_resume_state
    original = basicsr.train.load_resume_state
    basicsr.train.load_resume_state = load_resume_state
    try:
        yield
    finally:
        basicsr.train.load_resume_state = original


def fresh_basicsr_logger():
    """Forget an earlier set-up of BasicSR's ``basicsr`` logger so the next pipeline makes its own.

    BasicSR configures that logger once per process. Building a network first (a search, ``derive``, the
    demo) configures it with no level and no file, so a training run after it in the same process logged
    nothing: no iteration lines with their ETA, an empty log file.
    """
    import logging

    from basicsr.utils import logger as basicsr_logger
    logger = logging.getLogger('basicsr')
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    basicsr_logger.initialized_logger.pop('basicsr', None)


# Console lines kept by ``run_train(brief_console=True)``: iterations (with their ETA), validation, start, end.
BRIEF_CONSOLE_STARTS = ('[', 'Validation', 'Start training', 'Resuming training', 'End of training')


class _BriefConsole(logging.Filter):
    def filter(self, record):
        return str(record.msg).lstrip().startswith(BRIEF_CONSOLE_STARTS)


@contextlib.contextmanager
def brief_console():
    """While BasicSR trains, its console shows only progress; the environment, the option dump and the
    network printout still go to the run's log file."""
    import basicsr.train
    original = basicsr.train.get_root_logger

    def get_root_logger(*args, **kwargs):
        logger = original(*args, **kwargs)
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:  # the console; FileHandler is a subclass
                handler.addFilter(_BriefConsole())
        return logger

    basicsr.train.get_root_logger = get_root_logger
    try:
        yield
    finally:
        basicsr.train.get_root_logger = original


def run_train(opt_path, root_path=None, auto_resume=False, debug=False, overrides=None, validate=True,
              launcher='none', brief=False):
    """Validate ``opt_path`` then run ``basicsr.train.train_pipeline`` with outputs under ``root_path``.

    ``root_path`` (default: the working directory) receives ``experiments/``, ``tb_logger/``.
    ``brief``: the console shows only progress lines (:func:`brief_console`), as the demo wants.
    Raises :class:`srnas.utils.errors.InputError` for a bad option file.
    """
    register_plugins()
    if validate:
        load_options(opt_path, is_train=True, overrides=overrides)
    root_path = os.path.abspath(root_path or os.getcwd())
    import basicsr.train
    from srnas.utils.basicsr_dist import torchrun_for_basicsr
    fresh_basicsr_logger()
    with patched_argv(basicsr_argv(opt_path, auto_resume, debug, overrides, launcher)), cpu_safe_resume(), \
            torchrun_for_basicsr(launcher), (brief_console() if brief else contextlib.nullcontext()):
        basicsr.train.train_pipeline(root_path)
    return root_path
