"""Fetches params.url (http or https) and outputs its status and body (standard library only)."""

import sys
import urllib.error
import urllib.request

import weft_task as weft

url = str(weft.params["url"])
if not url.startswith(("http://", "https://")):
    weft.log(f"only http and https URLs are fetched, not {url!r}", level="error")
    sys.exit(2)
request = urllib.request.Request(url, headers={"User-Agent": "weft"})
try:
    with urllib.request.urlopen(request, timeout=float(weft.params.get("timeout", 30))) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as exc:
    status, body = exc.code, exc.read()
except (urllib.error.URLError, OSError) as exc:
    weft.log(f"cannot fetch {url}: {exc}", level="error")
    sys.exit(1)
weft.log(f"GET {url}: {status}, {len(body)} bytes")
weft.output("status", status)
weft.output("body", body.decode("utf-8", "replace"))
if status >= 400 and not weft.params.get("allow_errors", False):
    sys.exit(1)
