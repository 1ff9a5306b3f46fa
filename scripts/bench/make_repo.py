#!/usr/bin/env python3
"""Writes a git fast-import stream: 5,000 files, then commits up to COMMITS in total, each
changing one file, plus env/dev/kustomization.yaml for promotions to edit."""
import sys

commits = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
files = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
out = sys.stdout.buffer
mark = 0

def blob(data: bytes) -> int:
    global mark
    mark += 1
    out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
    return mark

def commit(message: str, changes, parent_mark):
    global mark
    mark += 1
    out.write(b"commit refs/heads/main\nmark :%d\ncommitter Bench <b@e> %d +0000\n" % (mark, 1700000000 + mark))
    msg = message.encode()
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    if parent_mark:
        out.write(b"from :%d\n" % parent_mark)
    for path, blob_mark in changes:
        out.write(b"M 100644 :%d %s\n" % (blob_mark, path.encode()))
    return mark

kustomization = blob(b"# dev overlay: edited by promotions\nimages:\n- name: ghcr.io/example/app # the app image\n  newTag: 0.0.0\n")
first = [("env/dev/kustomization.yaml", kustomization)]
for i in range(files):
    first.append(("data/d%03d/f%05d.txt" % (i % 100, i), blob(b"file %d version 0\n" % i)))
head = commit("initial tree", first, None)
for n in range(1, commits):
    i = n % files
    head = commit("change %d" % n, [("data/d%03d/f%05d.txt" % (i % 100, i), blob(b"file %d version %d\n" % (i, n)))], head)
out.write(b"done\n")
