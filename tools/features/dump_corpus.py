"""Writes models/data/feature-corpus.jsonl: demo-corpus documents (corpus.documents, a seed not used
in training) as {"text": ...} lines, for training the shipped dictionaries, SNMF tests and
feature cards' top-activating snippets.

  /usr/bin/python3 tools/features/dump_corpus.py models/data/feature-corpus.jsonl 1200
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models"))
import corpus  # noqa: E402

out, n = sys.argv[1], int(sys.argv[2])
with open(out, "w") as f:
    for d in corpus.documents(n, seed=2026):
        f.write(json.dumps({"text": d}) + "\n")
