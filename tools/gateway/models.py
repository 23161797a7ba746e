"""The registry of MCP tool servers. Written only through ``tools.gateway.services``."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models


class Transport(models.TextChoices):
    STREAMABLE_HTTP = "streamable-http", "Streamable HTTP"
    STDIO = "stdio", "stdio (url is the command line)"


class ToolServer(models.Model):
    """One MCP server the gateway may call. Changes reach running workers within seconds (see registry.py)."""

    name = models.SlugField(max_length=64, unique=True)
    url = models.CharField(max_length=500, help_text="http(s)://host:port/path/mcp, or a command line for stdio")
    transport = models.CharField(max_length=20, choices=Transport.choices, default=Transport.STREAMABLE_HTTP)
    enabled = models.BooleanField(default=True)
    timeout_s = models.FloatField(default=10.0, validators=[MinValueValidator(0.05)])
    cache_ttl_s = models.PositiveIntegerField(default=300, help_text="0 disables caching")
    rate_limit_per_s = models.FloatField(default=50.0, validators=[MinValueValidator(0.01)])
    rate_burst = models.PositiveIntegerField(default=20, validators=[MinValueValidator(1)])
    breaker_fail_max = models.PositiveIntegerField(default=5, validators=[MinValueValidator(1)])
    breaker_reset_s = models.FloatField(default=60.0, validators=[MinValueValidator(0.1)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
