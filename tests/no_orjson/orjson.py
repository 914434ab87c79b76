"""Stands in for orjson when the suite runs with ``LAMBDA_OBSERVE_TEST_NO_ORJSON=1`` (see
tests/conftest.py): importing it fails exactly as when orjson is not installed, in the test process
and in every subprocess the tests start (the directory is put on ``PYTHONPATH``)."""

raise ModuleNotFoundError("No module named 'orjson' (hidden: LAMBDA_OBSERVE_TEST_NO_ORJSON=1)", name="orjson")
