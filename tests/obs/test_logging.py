from __future__ import annotations

import io
import json
import logging
import logging.config

import structlog

from taskhub.obs.logging import logging_config


def _capture(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    config = logging_config(level="INFO", fmt=fmt)
    stream = io.StringIO()
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    return logging.getLogger("taskhub.test"), stream


def test_stdlib_log_call_with_extra_becomes_one_json_object() -> None:
    logger, stream = _capture("json")
    try:
        logger.info("execution finished", extra={"execution_id": 7, "subscription_id": 3})
        record = json.loads(stream.getvalue().strip().splitlines()[-1])
    finally:
        logging.config.dictConfig(logging_config(level="INFO", fmt="console"))
    assert record["event"] == "execution finished"
    assert record["execution_id"] == 7
    assert record["subscription_id"] == 3
    assert record["level"] == "info"
    assert record["logger"] == "taskhub.test"


def test_structlog_call_goes_through_the_same_json_formatter() -> None:
    _, stream = _capture("json")
    try:
        structlog.get_logger("taskhub.test").warning("breaker opened", server="weather")
        record = json.loads(stream.getvalue().strip().splitlines()[-1])
    finally:
        logging.config.dictConfig(logging_config(level="INFO", fmt="console"))
    assert record == {**record, "event": "breaker opened", "server": "weather", "level": "warning"}
