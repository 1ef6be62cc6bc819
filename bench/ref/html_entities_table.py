#!/usr/bin/env python3
"""Writes runtime/tokenizer/html-entities.json: the tables behind Python's html.unescape.

CLIP's reference tokenizer cleans text with html.unescape(html.unescape(text)); vlmp's port
(runtime/tokenizer/html-unescape.ts) reads these tables so that it decodes exactly as Python does:
the WHATWG named character references (html.entities.html5, with and without the trailing ';'),
the numeric references that map to other characters (html._invalid_charrefs) and the code points
that numeric references drop (html._invalid_codepoints).

Usage: python3 bench/ref/html_entities_table.py > runtime/tokenizer/html-entities.json
"""

import html
import html.entities
import json
import sys


def ranges(points):
    out = []
    for p in sorted(points):
        if out and out[-1][1] == p - 1:
            out[-1][1] = p
        else:
            out.append([p, p])
    return out


table = {
    "source": f"Python {sys.version.split()[0]} html.entities.html5, html._invalid_charrefs, html._invalid_codepoints",
    "named": dict(sorted(html.entities.html5.items())),
    "invalidCharrefs": {str(k): v for k, v in sorted(html._invalid_charrefs.items())},
    "invalidCodepointRanges": ranges(html._invalid_codepoints),
}
json.dump(table, sys.stdout, ensure_ascii=True, separators=(",", ":"))
sys.stdout.write("\n")
