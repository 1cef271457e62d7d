"""``[web]``: the web view: whether the daemon serves it, where, with how many processes, and
who may see it (a password, or a trusted reverse proxy's user header).
"""

from __future__ import annotations

import os
import re

from pydantic import Field, field_validator

from crawler.config.base import ConfigError, Section

_HEADER = re.compile(r"^[A-Za-z0-9-]{1,100}$")


class WebConfig(Section):
    """`presswatch serve`, and the daemon's web view when ``enabled``."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Processes serving pages, each rendering one page at a time: as many as readers at once.
    workers: int = Field(default=4, ge=1, le=64)
    # The name of the environment variable holding the password the login page asks for.
    password_env: str | None = None
    # A reverse proxy that authenticates its users and names them in this request header; only
    # the proxy may reach the web view then (bind it to an address only the proxy reaches).
    trusted_proxy_header: str | None = None

    @field_validator("trusted_proxy_header")
    @classmethod
    def _header(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER.match(value):
            raise ValueError(f"{value!r} is not an HTTP header name like X-Forwarded-User")
        return value

    def password(self) -> str | None:
        """The password from the environment; a ConfigError when the variable is unset."""
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if not value:
            raise ConfigError(
                f"[web] password_env names ${self.password_env}, which is not set or empty: "
                "export it in the environment presswatch runs in"
            )
        return value
