"""The whole OpenAPI document, tried by schemathesis (issue #9, item 6).

For every operation of /api/openapi.json, as an admin and as a seller (bearer
tokens), schemathesis generates requests from the document itself: its examples,
boundary and invalid values (coverage), and random valid and invalid ones
(fuzzing), derandomized (the same requests on every run) and bounded per operation.
No answer may be a 5xx, and every answer must be what the document says: a
documented status, its content type and headers, a body that matches its schema
(the error schema included), 405 with `Allow` for a method the path does not have.

Runs once per backend (HAICANG_TEST_BACKENDS). HAICANG_SCHEMATHESIS_EXAMPLES sets the
number of random examples per operation (fuzzing); the explicit and coverage cases
come on top. A failure prints the request as a curl command to replay it.
"""
import os
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi import checks as openapi_checks

from server import create_app

EXAMPLES = int(os.environ.get("HAICANG_SCHEMATHESIS_EXAMPLES", "5"))

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.unsupported_method,
]


def _document():
    """The document, read at collection time from an app of its own: it depends on
    the code, not on a database, and each test then calls the app of its backend."""
    app = create_app({"TESTING": True, "SECRET_KEY": "schemathesis", "REDIS_URL": None,
                      "RQ_INLINE": True, "RATELIMIT_STORAGE_URI": "memory://",
                      "SQLALCHEMY_DATABASE_URI":
                          f"sqlite:///{tempfile.mkdtemp(prefix='haicang-doc-')}/doc.db"})
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


schema = _document()
schema.config.generation.update(max_examples=EXAMPLES, deterministic=True, database="none")


@pytest.fixture(params=["admin", "seller_a"])
def role(request):
    return request.param


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_operation_answers_every_input_as_documented(case, app, client, world, role):
    """Does this operation answer every generated input, valid or not, with a
    documented status (never a 5xx) and a body its schema describes?"""
    # identity: the checks read bodies as sent, and Flask-Compress would gzip them.
    headers = {**world.headers[role], "Accept-Encoding": "identity"}
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)
