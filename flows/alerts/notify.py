"""The --notify URLs of this process: handed from the command line to the flows in memory.

They hold tokens, so they are never Prefect parameters, stored values, command lines or the
environment of the processes a run starts (cleaning workers, a Prefect server, `defwatch serve`'s
scheduled runs). Three ways in: ``--notify URL`` (visible in the process listing: for tests and
tokenless URLs), ``--notify-file PATH`` (one URL a line; `#` comments) and DEFWATCH_NOTIFY
(space-separated). The CLI takes DEFWATCH_NOTIFY out of its own environment as it starts
(``take_from_environment``), so no child inherits it. `defwatch serve` hands the URLs to its
scheduled runs, which are processes of their own, as a file only its user can read
(DEFWATCH_NOTIFY_FILE names it; the file holds the URLs, the environment only its path).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
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
    file DEFWATCH_NOTIFY_FILE names."""
    if _handed:
        return list(_handed)
    if environ is None and _from_env:
        return list(_from_env)
    env = os.environ if environ is None else environ
    urls = env.get(NOTIFY_ENV, "").split()
    if not urls and env.get(NOTIFY_FILE_ENV):
        urls = read_notify_file(env[NOTIFY_FILE_ENV])
    return urls


def export_for_child_runs(urls: Iterable[str] | None, notify_file: Path | None = None) -> None:
    """Hand the URLs to runs that are processes of their own (``defwatch serve``'s scheduled
    runs) through a file only this user can read: their environment names the file, and holds no
    token. A --notify-file is passed on as it is; other URLs go to a private temporary file,
    removed when this process exits."""
    global _handed
    take_from_environment()
    urls = list(urls or ())
    if notify_file is not None and not urls:
        read_notify_file(notify_file)  # a bad file is one line now, not a failure in every run
        os.environ[NOTIFY_FILE_ENV] = str(Path(notify_file).resolve())
        return
    urls += read_notify_file(notify_file) if notify_file is not None else []
    urls = urls or list(_from_env)
    if not urls:
        return
    folder = tempfile.mkdtemp(prefix="defwatch-notify-")  # 0700
    path = Path(folder) / "notify"
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(urls) + "\n")
    atexit.register(_remove, path)
    os.environ[NOTIFY_FILE_ENV] = str(path)
    _handed = tuple(urls)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
        path.parent.rmdir()
