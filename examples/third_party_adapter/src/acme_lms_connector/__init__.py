"""Acme LMS adapter for lms-connectors: an example of a third-party adapter, written against the public API only.

Acme LMS is a fictional LMS with a small REST API (OAuth client credentials, sessions with an
``Idempotency-Key`` header, rosters, page-token listings). Its simulator (:mod:`.simulator`) is the API's
reference; the package shows every piece a vendor writes: configuration, error classifier, mapping, adapter,
simulator and contract harness.
"""

__version__ = "0.1.0"
