"""`paguito-sandbox openai --port P`: run the fake OpenAI API.

Point llm_back at it with `OPENAI_API_KEY=anything OPENAI_BASE_URL=http://127.0.0.1:P/v1`.
"""

from __future__ import annotations

import argparse

import uvicorn


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8090, help="port to listen on (8090)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")


def run(args: argparse.Namespace) -> None:
    from sandbox.openai_api.app import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
