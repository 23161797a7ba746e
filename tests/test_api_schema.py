"""Property-based run of the whole REST API against its own OpenAPI schema (schemathesis).

Bounded: a fixed number of generated examples per operation. Finds 5xx responses
and responses that break the documented schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from taskhub.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def token(django_user_model) -> str:  # type: ignore[no-untyped-def]
    user, _ = django_user_model.objects.get_or_create(username="fuzzer")
    return Token.objects.get_or_create(user=user)[0].key


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_every_generated_request_without_5xx_and_within_its_schema(case, token) -> None:  # type: ignore[no-untyped-def]
    # Checked: no 5xx, only documented status codes and content types, every
    # response body within its schema. Not checked: that schema-valid input is
    # accepted (domain rules the schema cannot express, such as a cron firing
    # too often, are 4xx by design) and that DRF's lenient coercions ("5" for 5)
    # are refused.
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
