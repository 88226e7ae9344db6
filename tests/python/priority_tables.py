"""CPython's answers for encodePriority and mapPriority, from its own tables.

stdout: one JSON document with every facility and priority (names from
CPython's tables, and numbers), CPython's result for each pair, and
mapPriority of a set of level names.
"""
import json
import logging.handlers

H = logging.handlers.SysLogHandler
h = H.__new__(H)  # encodePriority and mapPriority need no socket

facilities = list(H.facility_names) + list(range(0, 24)) + [100, 2**20]
priorities = list(H.priority_names) + list(range(0, 8)) + [9, 15]
cases = [[f, p, h.encodePriority(f, p)] for f in facilities for p in priorities]
levels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NOTSET", "WARN", "FATAL", "Level 5", "info", ""]
print(json.dumps({
    "facility_names": list(H.facility_names),
    "priority_names": list(H.priority_names),
    "cases": cases,
    "map_priority": {lv: h.mapPriority(lv) for lv in levels},
}))
