"""The --notify URLs of this process: handed from the command line to the flows in memory.

They hold tokens, so they are never Prefect parameters, stored values, command lines or the
environment of the processes a run starts (cleaning workers, a Prefect server, `defwatch serve`'s
scheduled runs). Three ways in: ``--notify URL`` (visible in the process listing: for tests and
tokenless URLs), ``--notify-file PATH`` (one URL a line; `#` comments) and DEFWATCH_NOTIFY
(space-separated). The CLI takes DEFWATCH_NOTIFY out of its own environment as it starts
(``take_from_environment``), so no child inherits it. `defwatch serve` runs its scheduled runs in
its own process (``flows.runtime.scheduled_runs``): they take the URLs from memory too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from flows.errors import ConfigError

NOTIFY_ENV = "DEFWATCH_NOTIFY"
NOTIFY_FILE_ENV = "DEFWATCH_NOTIFY_FILE"

_handed: tuple[str, ...] = ()
_from_env: tuple[str, ...] = ()


def take_from_environment() -> None:
    """Move DEFWATCH_NOTIFY from this process's environment into memory: the processes it starts
    (a Prefect server, cleaning workers) inherit the environment, and must not see tokens."""
    global _from_env
    raw = os.environ.pop(NOTIFY_ENV, None)
    if raw is not None:
        _from_env = tuple(raw.split())


def read_notify_file(path: str | Path) -> list[str]:
    """The URLs of a notify file: one a line, blank lines and `#` comments skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ConfigError(f"--notify-file {path} is a directory: give a file with one apprise URL a line.") from None
    except OSError as exc:
        raise ConfigError(f"--notify-file {path} cannot be read ({exc.strerror}): give a file with one apprise "
                          f"URL a line, readable by this user.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--notify-file {path} is not UTF-8 text: give a file with one apprise URL a line.") from None
    urls = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not urls:
        raise ConfigError(f"--notify-file {path} holds no URL: write one apprise URL a line "
                          f"(e.g. json://127.0.0.1:8080/hook).")
    return urls


def hand_over(urls: Iterable[str] | None, notify_file: Path | None = None) -> None:
    """The command line's --notify URLs and --notify-file's, else DEFWATCH_NOTIFY's, for the flows
    this process runs."""
    global _handed
    take_from_environment()
    given = list(urls or ()) + (read_notify_file(notify_file) if notify_file is not None else [])
    _handed = tuple(given) if given else _from_env


def notify_urls(environ: Mapping[str, str] | None = None) -> list[str]:
    """The URLs handed over, else those of DEFWATCH_NOTIFY (space-separated), else those of the
    file DEFWATCH_NOTIFY_FILE names (a way to give a file through the environment)."""
    if _handed:
        return list(_handed)
    if environ is None and _from_env:
        return list(_from_env)
    env = os.environ if environ is None else environ
    urls = env.get(NOTIFY_ENV, "").split()
    if not urls and env.get(NOTIFY_FILE_ENV):
        urls = read_notify_file(env[NOTIFY_FILE_ENV])
    return urls
