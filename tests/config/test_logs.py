import logging

from config.logs import KeyValueFormatter


def test_extra_fields_are_printed_as_key_values():
    record = logging.LogRecord("zoom", logging.INFO, __file__, 1, "zoom.api.request", None, None)
    record.status = 429
    record.rate_limit_category = "Heavy"
    record.reason = "two words"
    line = KeyValueFormatter("%(levelname)s %(message)s").format(record)
    assert line == "INFO zoom.api.request rate_limit_category=Heavy reason='two words' status=429"
