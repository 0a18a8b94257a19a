"""The docs stay true: the payment diagram is the code's, and every relative link resolves."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from op_api.lifecycle import mermaid

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(ROOT.glob("*/README.md")),
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_the_payment_diagram_is_generated_from_the_lifecycle_table() -> None:
    text = (ROOT / "docs" / "payments.md").read_text()
    blocks = re.findall(r"```mermaid\n(.*?)\n```", text, flags=re.DOTALL)
    assert blocks == [mermaid()], "regenerate it with: uv run python -m op_api.lifecycle"


def test_every_relative_link_resolves_inside_the_repository() -> None:
    checked = 0
    for doc in DOCS:
        for target in LINK.findall(doc.read_text()):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # an absolute URL or an anchor in the same page
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            assert path.is_relative_to(ROOT), f"{doc.name}: {target} leaves the repository"
            assert path.exists(), f"{doc.relative_to(ROOT)}: {target} does not exist"
            checked += 1
    assert checked > 0


def test_paguito_demo_help_shows_the_demos_own_options() -> None:
    """The README's `./paguito demo --help` reaches the demo (not mise's task help)."""
    done = subprocess.run(
        [str(ROOT / "paguito"), "demo", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for option in ("--wallet-port", "--op-api-port", "--data-dir", "--openai"):
        assert option in done.stdout, done.stdout


def test_the_docs_index_lists_every_document() -> None:
    index = (ROOT / "docs" / "README.md").read_text()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        if doc.name != "README.md":
            assert f"]({doc.name})" in index, doc.name


def test_the_conversation_doc_names_every_draft_state_and_question() -> None:
    """The draft diagram is written by hand: at least every state and question must be in it."""
    from ws_bot.dialog import Question
    from ws_bot.draft_store import DraftStatus

    text = (ROOT / "docs" / "conversation.md").read_text()
    (diagram,) = re.findall(r"```mermaid\n(.*?)\n```", text, flags=re.DOTALL)
    drawn = set(re.findall(r"\b([a-z_]+)\b\s*(?:-->|:)", diagram)) | set(
        re.findall(r"-->\s*([a-z_]+)", diagram)
    )
    assert {s.value for s in DraftStatus} <= drawn
    assert all(f"`{q.value}`" in text for q in Question)
