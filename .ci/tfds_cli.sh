#!/usr/bin/env bash
# CI, optional (slow: installs TensorFlow): TFDS's own CLI builds a jvqa builder.
# In a throwaway venv in a temp dir, installs '.[tfds-cli]', runs
#   tfds build data_builders/csv_vqa --manual_dir=<its dummy data> --file_format=array_record
# and checks with tfds.data_source, from outside the repository, that every
# split has the expected examples. Any failure exits non-zero.
# PYTHON may name the interpreter (default python3; jvqa needs Python 3.11).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"${PYTHON:-python3}" -m venv "$work/venv"
. "$work/venv/bin/activate"
pip install -q "$repo[tfds-cli]"

cd "$work"
tfds build "$repo/data_builders/csv_vqa" \
  --manual_dir="$repo/data_builders/csv_vqa/dummy_data" \
  --data_dir="$work/data" --file_format=array_record

python - "$work/data" "$repo/data_builders/csv_vqa/dummy_data" <<'EOF'
"""Reads the built csv_vqa back and compares it with the dummy data."""
import pathlib
import sys

import tensorflow_datasets as tfds

data_dir, dummy = sys.argv[1], pathlib.Path(sys.argv[2])
# labels.csv lists 4 train and 2 test videos; one of each is missing or broken.
expected = {"train": {"videos/a.mp4": 3.5, "videos/b.mp4": 4.25, "videos/sub/c.mkv": 1.75},
            "test": {"videos/d.mp4": 2.8}}
for split, scores in expected.items():
  source = tfds.data_source("csv_vqa", split=split, data_dir=data_dir)
  examples = {e["name"].decode(): e for e in (source[i] for i in range(len(source)))}
  read = {name: round(float(e["mos"]), 4) for name, e in examples.items()}
  if read != scores:
    sys.exit(f"tfds_cli.sh: csv_vqa {split}: read {read}, expected {scores}")
  for name, example in examples.items():
    if example["video"] != (dummy / name).read_bytes():
      sys.exit(f"tfds_cli.sh: csv_vqa {split}: {name}: stored bytes differ from the file")
print(f"tfds_cli.sh: ok: {', '.join(f'{s} {len(v)}' for s, v in expected.items())} examples")
EOF
