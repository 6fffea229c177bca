"""One settings object: defaults < config file (defwatch.toml) < environment (DEFWATCH_*) < CLI flags.

The config file is looked up at $DEFWATCH_CONFIG, else ./defwatch.toml; a file that
does not parse is an error that names the file and line (never silently ignored).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from flows.errors import ConfigError

DEFAULT_CONFIG_FILE = "defwatch.toml"


class FetchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(16, ge=1, le=512, description="requests in flight, all hosts together")
    per_host: int = Field(4, ge=1, le=64, description="requests in flight to one host")
    timeout_s: float = Field(20.0, gt=0, description="connect/read timeout of one request")
    total_timeout_s: float = Field(60.0, gt=0, description="wall-clock limit of one request, body included")
    max_bytes: int = Field(5_000_000, ge=1024, description="largest body read (after decompression)")
    max_redirects: int = Field(5, ge=0, le=20)
    user_agent: str = "defwatch/0.1 (+https://github.com/defwatch/defwatch; defence-news monitor)"
    allow_private: bool = Field(False, description="allow article links to loopback/private addresses")


class ScheduleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    poll_interval_s: int = Field(900, ge=10, description="normal gap between two polls of a healthy feed")
    backoff_base_s: int = Field(300, ge=1, description="first wait after a failure; doubles each time")
    backoff_cap_s: int = Field(86_400, ge=60, description="longest wait between retries of a failing feed")
    stale_factor: float = Field(4.0, gt=1, description="stale when silent for this many typical intervals")
    stale_min_s: int = Field(172_800, ge=3600, description="never stale before this much silence")


ChannelType = Literal["log", "webhook", "email", "apprise", "prefect"]


class ChannelDef(BaseModel):
    """An alert channel. Secrets are never written here: only the names of the environment
    variables that hold them (``secret_env``, ``password_env``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    type: ChannelType
    url: str | None = None                  # webhook endpoint, or an apprise URL
    url_env: str | None = None              # ... or the env var holding it (apprise URLs carry tokens)
    secret_env: str = "DEFWATCH_WEBHOOK_SECRET"  # HMAC-SHA256 key for webhook signatures
    host: str | None = None                 # SMTP
    port: int = 587
    starttls: bool = True                   # used when the server offers it
    username: str | None = None
    password_env: str = "DEFWATCH_SMTP_PASSWORD"
    sender: str = "defwatch@localhost"
    recipients: list[str] = []
    timeout_s: float = 15.0


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    types: list[Literal["partnership", "summit"]] = ["partnership"]
    # new: an event new to the database; status: its status advanced; upcoming/overdue: summit watch
    changes: list[Literal["new", "status", "upcoming", "overdue"]] = ["new", "status"]
    parties: list[str] = []                 # any of these takes part (empty: anyone)
    statuses: list[str] = []                # the event's status is one of these (empty: any)
    min_confidence: float = 0.0
    channels: list[str] = ["log", "prefect"]
    # Corroboration: the alert waits (up to hold_hours) until min_reports articles from min_feeds
    # independent outlets report the event (a syndicated copy carries no text and counts for
    # nothing); a report from a feed tagged "official" is enough on its own unless official_feeds
    # is false. When the window passes: on_timeout "send" (saying it is uncorroborated) or "drop".
    min_reports: int = Field(1, ge=1)
    min_feeds: int = Field(1, ge=1)
    official_feeds: bool = True
    hold_hours: float = Field(24.0, ge=0)
    on_timeout: Literal["send", "drop"] = "send"

    @property
    def needs_corroboration(self) -> bool:
        return self.min_reports > 1 or self.min_feeds > 1


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelDef] = []
    rules: list[AlertRule] = [
        AlertRule(name="partnerships", types=["partnership"], changes=["new", "status"]),
        AlertRule(name="summit-watch", types=["summit"], changes=["upcoming", "overdue"]),
    ]
    summit_days_before: int = Field(7, ge=0, le=365, description="alert this many days before a planned summit")
    retry_base_s: int = Field(60, ge=1, description="first wait after a failed delivery; doubles each time")
    retry_cap_s: int = Field(3600, ge=1, description="longest wait between delivery attempts")
    mark_backfill_seen: bool = Field(False, description="on a first run, record alerts as seen, send nothing")


class Settings(BaseSettings):
    """defwatch settings. Environment variables use the prefix DEFWATCH_ and `__` for nesting
    (DEFWATCH_FETCH__CONCURRENCY=32)."""

    model_config = SettingsConfigDict(env_prefix="DEFWATCH_", env_nested_delimiter="__", extra="forbid")

    db: Path = Field(Path("defwatch.duckdb"), description="DuckDB file of the event log")
    feeds_file: Path = Field(Path("feeds.toml"), description="feed registry")
    # 500: a store batch is one Prefect task run (~75 ms of CPU between client and server) and ~40
    # statements; at 100 per batch that overhead was 1.2 s of CPU more per 2,000 articles.
    batch_size: int = Field(500, ge=1, le=5000, description="articles per store batch (one Prefect task each)")
    workers: int = Field(0, ge=0, le=64, description="processes for cleaning pages; 0 = one per core")
    fetch: FetchSettings = FetchSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    alerts: AlertSettings = AlertSettings()
    # Set by the ingest-shard flow for its run (or DEFWATCH_SHARD): the run sees only its share
    # of the registry, so it may disable only its own shard's feeds and leaves delivery and other
    # shards' runs to the coordinator.
    shard: str | None = Field(None, pattern=r"^\s*\d+\s*/\s*\d+\s*$", description="i/N: this run ingests one shard of the registry")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def cleaning_workers(self) -> int:
        return self.workers or (os.cpu_count() or 1)


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)
        self.path = Path(os.environ.get("DEFWATCH_CONFIG", DEFAULT_CONFIG_FILE))
        self.data = read_toml(self.path, required="DEFWATCH_CONFIG" in os.environ)

    def get_field_value(self, field, field_name):  # pragma: no cover - required by the ABC
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def read_toml(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"Config file {path} (from DEFWATCH_CONFIG) does not exist.")
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}. Fix that line and run again.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source; CLI flags come in as overrides (None means 'not given')."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        config = os.environ.get('DEFWATCH_CONFIG', DEFAULT_CONFIG_FILE)
        unknown = [e for e in exc.errors() if e["type"] == "extra_forbidden"]
        if unknown:
            raise ConfigError(_unknown_key_message(unknown[0]["loc"], config)) from None
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        sources = f"CLI flags, DEFWATCH_* environment variables, {config}"
        raise ConfigError(f"Invalid settings ({problems}). Looked in: {sources}.") from None


def _unknown_key_message(loc: tuple, config: str) -> str:
    """``fetch.concurency`` in defwatch.toml: the key, the file, and the nearest key there is."""
    import difflib

    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue  # an item of a list (alerts.channels[0]): its model is the list's
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            model = None
            break
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        model = args[0] if args and isinstance(args[0], type) and issubclass(args[0], BaseModel) else ann
    valid = list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    key = ".".join(str(p) for p in loc)
    bad = str(loc[-1])
    nearest = difflib.get_close_matches(bad, valid, n=1)
    prefix = ".".join(str(p) for p in loc[:-1] if not isinstance(p, int))
    hint = (f" Did you mean {(prefix + '.' if prefix else '') + nearest[0]!r}?" if nearest
            else f" Valid keys here: {', '.join(valid)}." if valid else "")
    where = config if Path(config).exists() else "the settings (DEFWATCH_* environment variables)"
    return f"{where}: unknown setting {key!r}.{hint} Fix or remove it and run again."
