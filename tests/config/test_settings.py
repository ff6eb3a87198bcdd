"""Settings layering: dataclass defaults = defaults.toml, then a TOML file, env, overrides."""
from __future__ import annotations

import tomllib
from dataclasses import asdict, fields
from pathlib import Path

import pytest

from config.settings import DEFAULTS, Settings, SettingsError, _coerce, load_settings


def test_defaults_toml_documents_every_setting_with_the_code_defaults() -> None:
    toml = tomllib.loads(DEFAULTS.read_text("utf-8"))
    code = Settings()
    for section in fields(code):
        values = asdict(getattr(code, section.name))
        documented = toml.get(section.name, {})
        assert set(documented) <= set(values), section.name
        for key, value in documented.items():
            assert _coerce(value, values[key]) == values[key], (section.name, key)
    assert load_settings(env={}) == code


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "vnsearch.toml"
    cfg.write_text('[search]\nper_page = 20\nposting_cache_mb = 64\n[index]\npath = "/srv/ix"\n', "utf-8")
    s = load_settings(cfg, env={"VNSEARCH_SEARCH_POSTING_CACHE_MB": "32",
                                "VNSEARCH_SEARCH_POSITIONS_CACHE_MB": "16",
                                "VNSEARCH_SERVER_PORT": "9000"})
    assert s.search.per_page == 20  # file
    assert s.search.posting_cache_mb == 32 and s.search.positions_cache_mb == 16  # env beats file
    assert s.server.port == 9000 and isinstance(s.server.port, int)
    assert s.index.path == Path("/srv/ix")
    s = load_settings(cfg, env={}, search={"per_page": 5, "max_depth": None})
    assert s.search.per_page == 5 and s.search.max_depth == Settings().search.max_depth


def test_config_file_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[search]\nrefresh_interval = 0.25\n", "utf-8")
    assert load_settings(env={"VNSEARCH_CONFIG": str(cfg)}).search.refresh_interval == 0.25


@pytest.mark.parametrize("text, message", [
    ("[search]\nper_pages = 3\n", "unknown setting"),
    ("[serch]\nper_page = 3\n", "unknown section"),
])
def test_typos_in_a_file_are_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text, "utf-8")
    with pytest.raises(ValueError, match=message) as err:
        load_settings(cfg, env={})
    assert str(cfg) in str(err.value)


def test_bad_env_value_is_an_error() -> None:
    with pytest.raises(SettingsError, match=r"environment: port = 'eighty' is not int"):
        load_settings(env={"VNSEARCH_SERVER_PORT": "eighty"})


@pytest.mark.parametrize("text, message", [
    ("[index]\nworkers = \"two\"\n", r"workers = 'two' is not int"),
    ("[index\nworkers = 2\n", "not valid TOML"),
    ("index = 3\n", r"index must be a \[index\] table"),
    ("\xff", "not valid TOML"),
])
def test_a_bad_file_is_an_error_naming_it(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_bytes(text.encode("latin-1"))
    with pytest.raises(SettingsError, match=message) as err:
        load_settings(cfg, env={})
    assert str(cfg) in str(err.value)


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=f"settings file {tmp_path / 'none.toml'}: No such file"):
        load_settings(tmp_path / "none.toml", env={})


def test_the_cli_reports_bad_settings_without_a_traceback(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from search.cli import main

    assert main(["search", "--config", str(tmp_path / "none.toml"), "hòa"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vnsearch search: settings file ") and "Traceback" not in err


def test_unknown_env_keys_are_ignored() -> None:
    s = load_settings(env={"VNSEARCH_SEARCH_NOT_A_SETTING": "1"})  # other tools' variables
    assert s == load_settings(env={})
