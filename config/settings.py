"""Settings: documented defaults in `defaults.toml`, overridden by a TOML file and env vars."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

__all__ = ["Settings", "IndexSettings", "SearchSettings", "ServerSettings", "ApiSettings", "SettingsError",
           "load_settings"]

DEFAULTS = Path(__file__).with_name("defaults.toml")
SYNONYMS = Path(__file__).with_name("synonyms.txt")


@dataclass(frozen=True)
class IndexSettings:
    path: Path = Path("var/index")
    spool: Path = Path("var/spool")
    batch_size: int = 4000
    workers: int = 0
    lock_timeout: float = 30.0
    max_record_bytes: int = 10_000_000


@dataclass(frozen=True)
class SearchSettings:
    per_page: int = 10
    max_per_page: int = 50
    max_depth: int = 1000
    max_query_chars: int = 2000
    max_query_terms: int = 64
    snippet_chars: int = 240
    refresh_interval: float = 1.0
    posting_cache_mb: int = 256
    positions_cache_mb: int = 128
    joined_cache_mb: int = 128
    score_cache_mb: int = 256
    stored_cache_mb: int = 64
    mask_cache_mb: int = 32
    stats_cache_mb: int = 64
    semantic: bool = True
    semantic_candidates: int = 100
    semantic_weight: float = 0.5
    synonyms: Path = SYNONYMS


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 5_000_000


@dataclass(frozen=True)
class ApiSettings:
    token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    index: IndexSettings = field(default_factory=IndexSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    api: ApiSettings = field(default_factory=ApiSettings)


class SettingsError(ValueError):
    """A settings file that cannot be read or parsed, or a setting with a bad name or value;
    the message names where (file, "environment", "overrides") and which setting."""


def _coerce(value: Any, current: Any) -> Any:
    if isinstance(current, bool):
        return str(value).strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)
    if isinstance(current, Path):
        return Path(value)
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    return str(value)


def _apply(section: Any, values: Mapping[str, Any], where: str) -> Any:
    known = {f.name for f in fields(section)}
    unknown = set(values) - known
    if unknown:
        raise SettingsError(f"{where}: unknown setting(s) {sorted(unknown)}")
    coerced = {}
    for k, v in values.items():
        current = getattr(section, k)
        try:
            coerced[k] = _coerce(v, current)
        except (TypeError, ValueError):
            raise SettingsError(f"{where}: {k} = {v!r} is not {type(current).__name__}") from None
    return replace(section, **coerced)


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None,
                  **overrides: Mapping[str, Any]) -> Settings:
    """Defaults, then the TOML file `path` (or $VNSEARCH_CONFIG), then VNSEARCH_* env vars,
    then keyword overrides per section (e.g. index={"path": ...})."""
    env = os.environ if env is None else env
    settings = Settings()
    layers: list[tuple[str, dict]] = [(str(DEFAULTS), tomllib.loads(DEFAULTS.read_text("utf-8")))]
    path = path or (Path(env["VNSEARCH_CONFIG"]) if env.get("VNSEARCH_CONFIG") else None)
    if path is not None:
        try:
            layers.append((str(path), tomllib.loads(Path(path).read_text("utf-8"))))
        except OSError as exc:
            raise SettingsError(f"settings file {path}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"settings file {path}: not valid TOML: {exc}") from None
    for where, data in layers:
        for name, values in data.items():
            if not hasattr(settings, name):
                raise SettingsError(f"{where}: unknown section [{name}]")
            if not isinstance(values, dict):
                raise SettingsError(f"{where}: {name} must be a [{name}] table of settings")
            settings = replace(settings, **{name: _apply(getattr(settings, name), values, where)})
    for f in fields(settings):
        section = getattr(settings, f.name)
        prefix = f"VNSEARCH_{f.name.upper()}_"
        values = {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix)}
        values = {k: v for k, v in values.items() if k in {x.name for x in fields(section)}}
        if values:
            settings = replace(settings, **{f.name: _apply(section, values, "environment")})
    for name, values in overrides.items():
        values = {k: v for k, v in values.items() if v is not None}
        if values:
            settings = replace(settings, **{name: _apply(getattr(settings, name), values, "overrides")})
    return settings
