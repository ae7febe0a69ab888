"""One mapping from a command's errors to one line on stderr and an exit status.

Every command-line entry point (``simulations/*.py``, ``python -m deep.*``) runs its job
through :func:`run_command`, so the same failure gives the same exit status everywhere:

* 2: bad input or a bad file (``ValueError``, ``FileNotFoundError``);
* 1: a diverged run (``FloatingPointError``) or a numerical failure (``RuntimeError``);
* 130: an interrupt (``KeyboardInterrupt``, Ctrl-C); the message says how to resume;
* 143: a termination (SIGTERM: ``kill``, a batch scheduler's pre-emption, ``torchrun``
  stopping its workers), handled as an interrupt: the run leaves what it has finished on
  disk, then says how to resume.

The library raises those exceptions with messages that name the parameter (or file), the
value and what was expected; ``flags`` tells how a library exception maps to the flag the
user should change.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_TERMINATED", "Terminated",
           "parse_run_args", "run_command", "script_main"]

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, the shell's status for a process killed by it


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's ``KeyboardInterrupt`` (a subclass of
    it), so that every ``except KeyboardInterrupt`` that saves a checkpoint also runs."""


def _raise_terminated(signum, frame):
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Inside the block, SIGTERM raises :class:`Terminated` (main thread only: Python runs
    signal handlers there; a handler installed outside Python is left alone)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is None):
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_command(prog: str, job, *, diverged_flag: str | None = None, failed_flag: str | None = None,
                resume: str | None = None) -> int:
    """Run ``job()`` and map its exceptions to an exit status and one line on stderr.

    Parameters
    ----------
    prog : str
        The command's name, the prefix of every message.
    job : callable
        Returns the exit status (``None`` means 0).
    diverged_flag, failed_flag : str, optional
        The flag(s) to change after a ``FloatingPointError`` (e.g. ``"--eta"``) or a
        ``RuntimeError`` (e.g. ``"--rtol or --method gd"``), added to the message.
    resume : str, optional
        The command that continues an interrupted run, printed on ``KeyboardInterrupt``
        (or SIGTERM).

    Returns
    -------
    int
        0 (or ``job``'s status), or 2, 1, 130, 143 as in the module docstring.
    """
    try:
        with _sigterm_as_interrupt():
            return job() or 0
    except (ValueError, FileNotFoundError) as err:
        _say(prog, err)
        return EXIT_BAD_INPUT
    except (FloatingPointError, RuntimeError) as err:
        flag = diverged_flag if isinstance(err, FloatingPointError) else failed_flag
        _say(prog, f"{err}{f' (change {flag})' if flag else ''}; no result was written")
        return EXIT_FAILED
    except KeyboardInterrupt as err:
        print(file=sys.stderr)  # end the progress bar's line
        what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        _say(prog, what + (f"; resume with: {resume}" if resume else ""))
        return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED


def _say(prog: str, message) -> None:
    line = " ".join(str(message).split())  # one line, whatever the message holds
    print(f"{prog}: error: {line}", file=sys.stderr)


# Flags that steer where and how a sweep runs but never change its numbers: they stay out
# of the saved config and of the cache keys, so e.g. switching --backend reuses the points.
_STEERING = ("out", "restart", "jobs", "backend", "scheduler")


def parse_run_args(parser, argv, quick_defaults: dict):
    """Add the flags every simulation shares, parse, and return ``(args, config)``.

    Shared flags: ``--out`` (default: one folder per configuration, see
    :func:`script_main`), ``--restart`` (discard cached points), ``--jobs`` (joblib workers),
    ``--backend`` (``loky``: this machine; ``dask``: a Dask cluster, needs the ``dask``
    extra), ``--scheduler`` (the Dask scheduler's address; default: the environment variable
    ``LOGITREG_DASK_SCHEDULER``) and ``--quick`` (``quick_defaults`` replace the defaults;
    flags given explicitly still win). ``config`` is every option except ``out``,
    ``restart``, ``jobs``, ``backend`` and ``scheduler``, which do not change the numbers.
    A bad combination of ``--backend`` and ``--scheduler``, or ``--backend dask`` without
    Dask installed, is a usage error (exit status 2) that names the flag.
    """
    from .sweep import BACKENDS, SCHEDULER_ENV

    parser.add_argument("--out", default=None,
                        help="output folder (default: one per configuration); with --backend "
                             "dask it must be on a filesystem every worker shares")
    parser.add_argument("--restart", action="store_true", help="discard cached points")
    parser.add_argument("--jobs", type=int, default=1,
                        help="parallel workers on this machine (joblib; --backend loky)")
    parser.add_argument("--backend", choices=BACKENDS, default="loky",
                        help="where the points run: loky, this machine (default); dask, the "
                             "workers of a Dask cluster (--scheduler; docs/scaling.md)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help=f"the Dask scheduler's address, for --backend dask (default: "
                             f"${SCHEDULER_ENV})")
    parser.add_argument("--quick", action="store_true", help="small, fast version (smoke test)")
    if parser.parse_args(argv).quick:
        parser.set_defaults(**quick_defaults)
    args = parser.parse_args(argv)
    if args.backend == "dask":
        if importlib.util.find_spec("distributed") is None:
            parser.error("--backend dask needs Dask's distributed scheduler, which is not "
                         "installed: pip install 'logitreg[dask]' (or 'dask[distributed]')")
        if not (args.scheduler or os.environ.get(SCHEDULER_ENV)):
            parser.error(f"--backend dask needs --scheduler tcp://HOST:PORT (or {SCHEDULER_ENV}"
                         "); docs/scaling.md starts a cluster")
    elif args.scheduler is not None:
        parser.error(f"--scheduler {args.scheduler} is used only with --backend dask")
    config = {k: v for k, v in vars(args).items() if k not in _STEERING}
    return args, config


def script_main(name: str, argv, parse, run) -> int:
    """The ``main`` of a simulation script ``simulations/<name>.py``.

    ``parse(argv) -> (parser, args, config)``; ``run(args, config, out)`` does the work. The
    default ``--out`` is :func:`logitreg.io.default_out_dir` of ``name`` (``-quick`` appended
    in quick mode) against the preset configuration, and errors map to exit statuses
    through :func:`run_command`, with the command itself as the resume hint. ``run`` runs
    inside :func:`logitreg.sweep.sweep_backend` of ``--backend`` and ``--scheduler``, so
    every sweep of the script goes to the chosen backend (one Dask connection for all).
    """
    from .io import default_out_dir
    from .sweep import sweep_backend

    argv = sys.argv[1:] if argv is None else list(argv)
    parser, args, config = parse(argv)
    folder = name + ("-quick" if args.quick else "")
    preset = parse(["--quick"] if args.quick else [])[2]
    out = Path(args.out or default_out_dir(folder, config, preset))

    def job():
        with sweep_backend(getattr(args, "backend", "loky"), getattr(args, "scheduler", None)):
            return run(args, config, out)

    return run_command(parser.prog, job, resume=f"python simulations/{name}.py {shlex.join(argv)}")
