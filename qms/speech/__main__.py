"""python -m qms.speech make-pack FOLDER [--config config.yaml]: generate the default voice
pack (every clip the configured announcements need) with espeak-ng."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qms import settings

from .espeak import Unavailable
from .pack import make_voice_pack


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qms.speech", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-pack", help="generate a voice pack with espeak-ng")
    make.add_argument("folder", type=Path)
    make.add_argument("--config", default="config.yaml",
                      help="configuration whose speech settings to use (default config.yaml)")
    args = parser.parse_args(argv)
    try:
        speech_cfg = settings.load(args.config)["speech"]
        paths = make_voice_pack(speech_cfg, args.folder)
    except (settings.ConfigError, Unavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(paths)} clips written to {args.folder} (listed in README.txt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
