"""The command line of ``deep.train`` and ``deep.vae``, built from their config dataclasses.

:func:`build_parser` gives one flag per field of a :mod:`deep.config` dataclass
(``dataset_root`` -> ``--dataset-root``; booleans get ``--flag/--no-flag``; tuples are
comma-separated); :func:`run_cli` parses, validates (in the dataclass) and runs a command
through ``logitreg.cli.run_command``, which maps every error to one line on stderr and an
exit status: 2 for bad input or a bad file, 1 for a diverged run, 130 for an interrupt and
143 for SIGTERM, both with the command that resumes the run.

Like :mod:`deep.config`, this module imports neither torch nor ``deep.data``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import types
import typing
from typing import Any, Union

from .config import flag

__all__ = ["build_parser", "config_from_args", "os_errors_as_bad_input", "run_cli"]


def _tuple_parser(elem: type, name: str):
    def parse(text: str) -> tuple:
        try:
            return tuple(elem(t) for t in text.replace("x", ",").split(",") if t.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {elem.__name__} values, got {text!r}"
            ) from None

    parse.__name__ = name
    return parse


def build_parser(cls: type, prog: str, description: str) -> argparse.ArgumentParser:
    """An ``argparse`` parser with one flag per field of the config dataclass ``cls``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        base = args[0] if typing.get_origin(tp) in (Union, types.UnionType) else tp
        help_ = f.metadata["help"]
        if f.default is not None and "default" not in help_:  # None: the help explains it
            shown = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
            help_ += f" (default: {shown})"
        kwargs: dict[str, Any] = {"default": f.default, "help": help_, "dest": f.name}
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) is tuple:
            elem = typing.get_args(base)[0]
            kwargs["type"] = _tuple_parser(elem, f"{elem.__name__} list")
            kwargs["metavar"] = "A,B,..."
        else:
            kwargs["type"] = base
            if f.metadata.get("choices"):
                kwargs["choices"] = f.metadata["choices"]
        parser.add_argument(flag(f.name), **kwargs)
    return parser


def config_from_args(cls: type, parser: argparse.ArgumentParser, argv: list[str] | None) -> Any:
    """Parse ``argv`` into a validated ``cls``.

    A flag argparse cannot parse exits through argparse (usage and error, status 2); a bad
    value raises ``ValueError`` naming the flag (a ``TypeError`` of the config becomes one),
    which :func:`run_cli` maps to one line and status 2.
    """
    ns = parser.parse_args(argv)
    try:
        return cls(**vars(ns))
    except TypeError as e:
        raise ValueError(str(e)) from e


def os_errors_as_bad_input(job: Any, *args: Any) -> Any:
    """``job(*args)``, with an ``OSError`` (a path that cannot be read or written: no
    permission, a file where a folder belongs, a full disk) re-raised as ``ValueError``, so
    that a command reports it as bad input (status 2) in one line naming the path, not as a
    traceback. ``FileNotFoundError`` passes unchanged (``run_command`` maps it to 2 too)."""
    try:
        return job(*args)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ValueError(f"{e}: expected a path that can be read and written (check --out-dir, "
                         "--run-name, --data-root and the files named)") from e


class _ResumeHint:
    """The command that continues an interrupted run, decided when the interrupt comes.

    ``logitreg.cli.run_command`` prints it with ``str()``. Once a checkpoint exists it is the
    same command with ``--resume``; before the first epoch finished there is nothing to
    resume, and the same command starts the run over.
    """

    def __init__(self, prog: str, argv: list[str]) -> None:
        self.prog, self.argv, self.cfg = prog, argv, None
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: relaunch it all
            nproc = os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"])
            self.prog = f"torchrun --nproc-per-node {nproc} -m {prog.split()[-1]}"

    def __str__(self) -> str:
        cfg = self.cfg
        if cfg is None:
            return f"{self.prog} {shlex.join(self.argv)}"
        run = os.path.join(cfg.out_dir, cfg.run_name or cfg._default_run_name())
        if cfg.resume or os.path.isfile(os.path.join(run, "checkpoint.pt")):
            return f"{self.prog} {shlex.join(self.argv + ([] if cfg.resume else ['--resume']))}"
        return (f"{self.prog} {shlex.join(self.argv)} (no epoch had finished, so this starts "
                "the run over)")


def run_cli(cls: type, description: str, job: Any, argv: list[str] | None) -> Any:
    """The command ``cls.command``: parse ``argv`` into a ``cls`` config, return ``job(cfg)``.

    Errors go through ``logitreg.cli.run_command``: one line ``prog: error: ...`` on stderr
    and ``SystemExit`` with status 2 for bad input or a bad file (``ValueError``,
    ``FileNotFoundError``; the message names the flag or the file), 1 for a diverged run
    (``FloatingPointError``; the message names ``--lr``) or another numerical failure, 130 for
    an interrupt, with the exact command that resumes the run. An unparseable flag keeps
    argparse's own usage and error (status 2).
    """
    from logitreg.cli import run_command

    prog = cls.command
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(cls, prog, description)
    hint = _ResumeHint(prog, argv)
    result = []

    def run() -> None:
        hint.cfg = config_from_args(cls, parser, argv)
        result.append(os_errors_as_bad_input(job, hint.cfg))

    status = run_command(prog, run, resume=hint)
    if status:
        raise SystemExit(status)
    return result[0]
