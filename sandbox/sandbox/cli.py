"""`paguito-sandbox <stand-in> --port P`: the local stand-ins for Meta, the wallet and OpenAI."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="paguito-sandbox", description=__doc__)
    parser.add_subparsers(dest="command", required=True)
    parser.parse_args(argv)
