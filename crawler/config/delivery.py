"""``[delivery]``: how digests travel: the SMTP server (``[delivery.smtp]``), webhooks'
timeout, and how many stories Atom feeds keep and how far back.
"""

from __future__ import annotations

import os
from datetime import timedelta

from pydantic import Field, model_validator

from crawler.config.base import ConfigError, Duration, Section


class SmtpConfig(Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    # SMTPS (implicit TLS, usually port 465) rather than STARTTLS.
    ssl: bool = False
    username: str | None = None
    # The name of the environment variable holding the password: secrets stay out of configs.
    password_env: str | None = None
    from_: str = Field(default="presswatch <presswatch@localhost>", alias="from")
    timeout: Duration = timedelta(seconds=30)

    @model_validator(mode="after")
    def _tls(self) -> SmtpConfig:
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls are exclusive: set starttls = false with ssl = true")
        return self

    def password(self) -> str | None:
        """The password from the environment; a ConfigError when the variable is unset."""
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"[delivery.smtp] password_env names ${self.password_env}, which is not set: "
                "export it in the environment presswatch runs in"
            )
        return value


class WebhookConfig(Section):
    timeout: Duration = timedelta(seconds=20)


class DeliveryConfig(Section):
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    # Stories kept in Atom feeds (newest first), and how far back they reach.
    feed_entries: int = Field(default=100, ge=1, le=10_000)
    feed_days: Duration = timedelta(days=30)
