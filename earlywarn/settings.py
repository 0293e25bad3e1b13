"""The one settings object every process shares (environment, ``EW_`` prefix)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = PROJECT_ROOT / "rules" / "default.yaml"


class Settings(BaseSettings):
    """Configuration; every field can be set as ``EW_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="EW_", extra="ignore")

    kafka_broker: str | None = Field(
        default=None, description="host:port of a Kafka-compatible broker; unset → embedded Tansu")
    database_url: str = Field(
        default="sqlite:///var/earlywarn.db", description="SQLAlchemy URL of the alert store")
    rules_file: Path = Field(default=DEFAULT_RULES, description="the wage-arrears rule file (YAML)")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_tokens: str = Field(
        default="", description="comma-separated bearer tokens, each 'token' or 'token:area_code'; "
        "an area-scoped token sees only alerts in that area")
    app_id: str = Field(default="earlywarn", description="Faust app id (consumer group prefix)")
    data_dir: Path = Field(default=Path("var"), description="Faust tables, logs, SQLite file")
    batch_size: int = Field(default=2000, ge=1, description="events taken per micro-batch")
    batch_within: float = Field(default=0.5, gt=0, description="seconds to wait to fill a micro-batch")
    topic_partitions: int = Field(default=1, ge=1)
    dedup_per_enterprise: int = Field(default=256, ge=8, description="recent event ids kept per enterprise")
    score_feed_min_change: float = Field(
        default=0.005, ge=0, le=1, description="publish an enterprise's score on ew.risk-scores only when it moved "
        "by at least this much (or its level changed) since last published; 0 = every update")
    sink_stall_seconds: float = Field(
        default=30.0, gt=0, description="/healthz answers 503 once the alert sink has retried a broker or store "
        "failure for longer than this")
    sink_max_lag: int = Field(
        default=10_000, ge=0, description="/healthz answers 503 while the alert sink is more than this many "
        "alerts behind on ew.alerts")
    metrics_port: int = Field(default=0, ge=0, le=65535, description="worker /metrics port; 0 = off")
    log_level: str = Field(default="warn", pattern="^(crit|error|warn|info|debug)$")

    @field_validator("kafka_broker")
    @classmethod
    def _broker(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        value = value.removeprefix("kafka://")
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"EW_KAFKA_BROKER must be host:port, got {value!r}")
        return value

    def tokens(self) -> dict[str, str | None]:
        """Token → area scope (None = all areas)."""
        out: dict[str, str | None] = {}
        for item in filter(None, (t.strip() for t in self.api_tokens.split(","))):
            token, _, area = item.partition(":")
            out[token] = area or None
        return out


@lru_cache
def get_settings() -> Settings:
    return Settings()
