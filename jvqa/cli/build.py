"""``jvqa build NAME --manual_dir=DIR``: builds a TFDS dataset from downloaded files.

NAME is one of the builders under data_builders/ (csv_vqa for your own
folder of videos with a labels.csv). The dataset is written as ArrayRecord
files under DATA_DIR/NAME/..., readable without TensorFlow:
``tfds.data_source(NAME, split=..., data_dir=DATA_DIR)``. Videos that are
missing or unreadable are skipped, named in the log and counted; the command
prints each split's size and skipped count and where the data is.
"""

import argparse


def add_parser(subparsers) -> None:
  """Registers ``jvqa build``."""
  parser = subparsers.add_parser(
      "build", help="build a TFDS dataset (ArrayRecord) from downloaded files",
      description=__doc__.split("\n\n", 1)[1],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("name", metavar="NAME",
                      help="a dataset under data_builders/, e.g. csv_vqa or lsvq "
                      "(an unknown name lists them all)")
  parser.add_argument("--manual_dir", "--manual-dir", default=None, metavar="DIR",
                      help="the folder holding the downloaded files (see the dataset's "
                      "MANUAL_DOWNLOAD_INSTRUCTIONS); not needed for demo")
  parser.add_argument("--data_dir", "--data-dir", metavar="D", default=None,
                      help="where to write the dataset (default: $TFDS_DATA_DIR, "
                      "else TFDS's default, ~/tensorflow_datasets)")
  parser.add_argument("--config", "-c", metavar="C", default=None,
                      help="builder config, e.g. sslvqa for lsvq (default: the first)")
  parser.add_argument("--overwrite", action="store_true",
                      help="rebuild even if the dataset already exists")
  parser.add_argument("--max_examples_per_split", "--max-examples-per-split", type=int,
                      metavar="N", default=None,
                      help="stop each split after N examples (for a quick trial)")
  parser.add_argument("--beam_pipeline_options", "--beam-pipeline-options", metavar="OPTS",
                      default=None,
                      help="build with Apache Beam (pip install 'jvqa[beam]'), e.g. "
                      "runner=DirectRunner,direct_num_workers=4,direct_running_mode="
                      "multi_processing")
  parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
  """Builds ``args.name`` and prints its summary; 0 on success."""
  from jvqa.data import build  # pylint: disable=g-import-not-at-top  (TFDS is slow to import)
  builder = build.build(
      args.name, args.manual_dir, data_dir=args.data_dir, config=args.config,
      overwrite=args.overwrite, max_examples_per_split=args.max_examples_per_split,
      beam_pipeline_options=args.beam_pipeline_options)
  print(build.summary(builder), flush=True)
  return 0
