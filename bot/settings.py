"""Runtime settings: one pydantic-settings class, read from the environment.

Built once in the composition root (`bot.bootstrap`), never at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.database import normalise_database_url

DEFAULT_SCRIPT = Path(__file__).resolve().parent.parent / "conversations" / "scripts" / "default.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///leadbot.db"
    leadbot_script: Path = DEFAULT_SCRIPT
    leadbot_auto_migrate: bool = True
    # How often each process checks for a newly published script (0: on every message).
    leadbot_script_reload_seconds: float = Field(default=2.0, ge=0)
    # Message transactions a process runs at once on PostgreSQL (SQLite: always one).
    database_concurrency: int = Field(default=1, ge=1, le=64)

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    # Messages a second the bot may send in all (Telegram's limit is about 30; paid
    # broadcasts raise it). One process at a time sends, so this is the bot's total.
    telegram_send_rate: int = Field(default=30, ge=1, le=1000)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    slack_channel: str | None = None

    leadbot_api_key: SecretStr | None = None  # bearer key of POST /api/events
    # Campaign spend file (YAML, as `leadbot report --campaigns`): the workspace's cost per SQL.
    leadbot_campaigns: Path | None = None
    # Signs the workspace's session cookies; generated and kept in the database when unset.
    leadbot_secret_key: SecretStr | None = None

    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = "text"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            return normalise_database_url(value)
        except Exception as exc:  # sqlalchemy.exc.ArgumentError
            raise ValueError(f"DATABASE_URL is not a database URL ({exc})") from None

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def telegram_configured(self) -> bool:
        return self.telegram_bot_token is not None
