"""Where CPython's MemoryHandler flushes: argv[1] is JSON {"handler": a
MemoryHandler dictConfig entry without target, "levels": [levelno, ...]}.
Prints [[emit index, records handed to the target], ...]; the index equal
to len(levels) is close().
"""
import json
import logging
import logging.config
import sys

spec = json.load(open(sys.argv[1]))
events = []
now = [0]


class Target(logging.Handler):
    def emit(self, record):
        if events and events[-1][0] == now[0]:
            events[-1][1] += 1
        else:
            events.append([now[0], 1])


entry = dict(spec["handler"], target="t")
config = {
    "version": 1,
    "handlers": {"m": entry, "t": {"()": Target, "level": spec.get("target_level", "NOTSET")}},
    "root": {"handlers": ["m"], "level": "NOTSET"},
}
logging.config.dictConfig(config)
handler = logging.getLogger().handlers[0]
for i, levelno in enumerate(spec["levels"]):
    now[0] = i
    if levelno >= handler.level:
        handler.handle(logging.makeLogRecord({"msg": str(i), "levelno": levelno, "levelname": logging.getLevelName(levelno)}))
now[0] = len(spec["levels"])
handler.close()
print(json.dumps(events))
