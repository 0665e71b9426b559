"""Makes WORKSPACE/link point to /etc/passwd and reports it as a file output 'f'."""

import os

from _raw import send, start

start()
link = os.path.join(os.environ["WEFT_WORKSPACE"], "link-to-passwd")
if not os.path.lexists(link):
    os.symlink("/etc/passwd", link)
send({"weft": 1, "type": "output", "name": "f", "value": "link-to-passwd"})
