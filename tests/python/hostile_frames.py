"""Hostile frames for pylog listen, and proof that they are hostile.

usage: hostile_frames.py TCP_PORT MARKER_PATH
Sends, on separate connections: a pickle whose unpickling runs
os.system("touch MARKER"); a frame whose length prefix claims 2 GiB; then a
good record. Then, in a throwaway subprocess, shows that plain pickle.loads
of the same payload does create the marker (the reason receivers must not
use it), and removes the marker again.
"""
import json
import os
import pickle
import socket
import struct
import subprocess
import sys

port, marker = int(sys.argv[1]), sys.argv[2]


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {marker}",))


evil = pickle.dumps({"msg": Exploit()}, 1)
good = pickle.dumps({"name": "ok", "msg": "after the attack", "levelname": "INFO", "levelno": 20}, 1)


def send(payload, claimed=None):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(struct.pack(">L", len(payload) if claimed is None else claimed) + payload)


send(evil)
send(b"\x80\x03", claimed=2**31)
send(good)

# What a receiver using plain pickle.loads would suffer, in a subprocess.
code = "import pickle,sys; pickle.loads(bytes.fromhex(sys.argv[1]))"
subprocess.run([sys.executable, "-c", code, evil.hex()], check=False, timeout=30)
plain_loads_ran_code = os.path.exists(marker)
if plain_loads_ran_code:
    os.remove(marker)
print(json.dumps({"plain_pickle_loads_ran_code": plain_loads_ran_code}))
