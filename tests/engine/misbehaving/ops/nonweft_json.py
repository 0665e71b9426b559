"""JSON on stdout that is not a message: no "weft" key, not an object, or "weft" only in a
string or a nested object. Every one of these is a log line."""

from _raw import raw, start

start()
raw('{"type": "output", "name": "n", "value": 1}\n')      # looks like a message, no "weft"
raw('{"level": "error", "message": "structured logger output"}\n')
raw('["weft", 1, {"type": "output"}]\n')                    # a list, not an object
raw('"weft"\n')                                             # a JSON string
raw('{"msg": "the word \\"weft\\" appears in a value"}\n')  # "weft" only inside a string
raw('{"nested": {"weft": 1, "type": "output", "name": "n", "value": 1}}\n')
raw('{"weft_version": 1, "type": "output"}\n')
raw("12345\n")
raw("null\n")
raw("not-json-weft-marker-done\n")
