#!/usr/bin/env python3
"""Replaces a generated section of a document: everything from `<!-- NAME:start` to
`<!-- NAME:end -->` (markers included) becomes the text on stdin, which carries the markers
again. Used by the fault tests' --write-docs. Usage: docs_section.py NAME FILE < SECTION"""
import re
import sys

name, path = sys.argv[1], sys.argv[2]
section = sys.stdin.read().rstrip("\n")
text = open(path).read()
pattern = re.compile(r"<!-- %s:start.*?<!-- %s:end -->" % (re.escape(name), re.escape(name)), re.S)
if not pattern.search(text):
    sys.exit(f"{path}: no {name} markers")
open(path, "w").write(pattern.sub(lambda _: section, text))
