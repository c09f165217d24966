"""How the console shows dates and times: with seconds and the zone (always UTC here), and
ISO dates, so an operator reading a log line and a console page sees the same instant."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
