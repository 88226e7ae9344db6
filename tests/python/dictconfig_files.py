"""CPython's logging.config.dictConfig on a complete document, records
handled as Logger.log would: argv[1] is JSON {"doc", "records"}; each
record goes to logging.getLogger(name), if that logger is enabled for its
level. The document's handlers write files; the test compares them."""
import json
import logging
import logging.config
import sys

from pyrecord import record

spec = json.load(open(sys.argv[1]))
logging.config.dictConfig(spec["doc"])
for attrs in spec["records"]:
    rec = record(attrs)
    logger = logging.getLogger(rec.name)
    if logger.isEnabledFor(rec.levelno):
        logger.handle(rec)
logging.shutdown()
