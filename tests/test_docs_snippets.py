"""The docs run as written: every fenced ``python`` block of README.md and docs/*.md, and their links.

- A block that defines a DAG is loaded by Airflow's ``DagBag`` (no import error, a DAG found) and
  run with ``dag.test()`` against the package's sandbox (``x_sandbox``; ``x_default`` points at it):
  the run must succeed, and a DAG that writes under ``file:///tmp/xlikes`` must commit a manifest.
- Any other block is executed against the same sandbox; a ``test_*`` function it defines is called
  with ``x_sandbox`` and ``monkeypatch`` (its ``x_sandbox`` marker applied, as the plugin does).
- An HTML comment on the line right before a fence says what the block needs:
  ``<!-- snippet: conn=oauth2_user -->`` (the connection's auth type; default ``bearer``),
  ``<!-- snippet: runs-in tests/x.py (why) -->`` (that test runs it: the file must exist and read the
  page; here the block is only loaded), ``<!-- snippet: skip (why) -->`` (not runnable: only loaded
  or compiled; at most ``MAX_SKIPPED`` of them).

In the blocks, ``file:///tmp/xlikes`` becomes the test's temporary folder, and the Variables
``x_user_id`` (the sandbox's authenticated user) and ``x_post_ids`` (its featured posts) are set.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: at most this many blocks may be marked ``skip``
MAX_SKIPPED = 3
#: pages the docs link to that are written on other branches (#26): a link to one of them is
#: allowed while it does not exist here; once it exists, its links and anchors are checked as any
PAGES_WRITTEN_ELSEWHERE: set[str] = set()
OUTPUT_PLACEHOLDER = "file:///tmp/xlikes"

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
DIRECTIVE = re.compile(r"^<!--\s*snippet:\s*(?P<body>.*?)\s*-->\s*$")
DEFINES_DAG = re.compile(r"\bDAG\(|^@dag\b", re.M)
AUTH_TYPES = ("bearer", "oauth2_user", "oauth1_user")


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int  # of the opening fence, 1-based
    code: str
    directive: str  # the comment's text after "snippet:", "" without one

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def mode(self) -> str:
        """``run`` (here), ``runs-in`` (another test runs it) or ``skip``."""
        word = self.directive.split(" ", 1)[0]
        return word if word in ("runs-in", "skip") else "run"

    @property
    def conn(self) -> str:
        match = re.fullmatch(r"conn=(\w+)", self.directive)
        return match.group(1) if match else "bearer"

    @property
    def defines_dag(self) -> bool:
        return bool(DEFINES_DAG.search(self.code))

    def problems(self) -> list[str]:
        """What is wrong with the block's directive (empty when it is usable)."""
        if not self.directive or (self.directive.startswith("conn=") and self.conn in AUTH_TYPES):
            return []
        if self.mode == "skip":
            return [] if len(self.directive.split(" ", 1)) == 2 else ["a skip says why"]
        if self.mode == "runs-in":
            parts = self.directive.split(" ", 2)
            test = ROOT / parts[1] if len(parts) > 1 else None
            if test is None or not test.is_file():
                return [f"runs-in names no test file: {self.directive!r}"]
            if str(self.page.relative_to(ROOT)) not in test.read_text(encoding="utf-8"):
                return [f"{parts[1]} does not read {self.page.relative_to(ROOT)}"]
            return []
        return [f"unknown snippet directive {self.directive!r} (conn=<auth type>, runs-in <test> (why), skip (why))"]


def collect_snippets() -> list[Snippet]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        lines = text.splitlines()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = lines[line - 2] if line >= 2 else ""
            directive = DIRECTIVE.match(before)
            found.append(Snippet(page, line, match.group(1), directive.group("body") if directive else ""))
    return found


SNIPPETS = collect_snippets()


# --------------------------------------------------------------------------- the set of snippets
def test_the_docs_have_runnable_snippets_and_few_skipped() -> None:
    modes = [s.mode for s in SNIPPETS]
    print(
        f"\n{len(SNIPPETS)} python blocks: {modes.count('run')} run here "
        f"({sum(s.mode == 'run' and s.defines_dag for s in SNIPPETS)} DAGs), "
        f"{modes.count('runs-in')} run by other tests, {modes.count('skip')} skipped"
    )
    assert [s for s in SNIPPETS if s.page.name == "README.md" and s.defines_dag and s.mode == "run"], (
        "the README's first DAG runs here"
    )
    assert modes.count("run") >= 5, modes
    assert modes.count("skip") <= MAX_SKIPPED, [s.name for s in SNIPPETS if s.mode == "skip"]
    problems = {s.name: s.problems() for s in SNIPPETS if s.problems()}
    assert not problems, problems


def test_unknown_or_unexplained_directives_are_reported() -> None:
    page = ROOT / "README.md"
    assert Snippet(page, 1, "", "skip").problems() == ["a skip says why"]
    assert Snippet(page, 1, "", "conn=password").problems()
    assert Snippet(page, 1, "", "runs-in tests/no_such_test.py (why)").problems()
    assert Snippet(page, 1, "", "runs-in tests/test_docs_snippets.py (why)").problems() == []  # reads README.md
    assert Snippet(page, 1, "", "conn=oauth2_user").problems() == []


# --------------------------------------------------------------------------- each snippet
def _load_dags(path: Path) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    assert bag.dags, f"no DAG in {path.name}"
    return dict(bag.dags)


def _dag_file(snippet: Snippet, code: str) -> Path:
    """The block as a DAG file in this test process's DAGs folder (``dag.test()`` needs it there)."""
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"docs_{snippet.page.stem.replace('-', '_')}_{snippet.line}.py"
    path.write_text(code, encoding="utf-8")
    return path


def _point_at_sandbox(snippet: Snippet, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json(snippet.conn))
    monkeypatch.setenv("AIRFLOW_VAR_X_USER_ID", sandbox.user_id)
    posts = [str(post["id"]) for post in sandbox.admin.world()["featured_posts"]]
    monkeypatch.setenv("AIRFLOW_VAR_X_POST_IDS", json.dumps(posts))


def _run_dags(dags: dict[str, Any]) -> None:
    for dag_id, dag in dags.items():
        dag_run = dag.test()
        states = {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
        assert str(dag_run.state) == "success", (dag_id, states)


def _call_tests(namespace: dict[str, Any], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    """Call the ``test_*`` functions a block defines, as pytest would with the plugin's fixtures."""
    fixtures = {"x_sandbox": sandbox, "monkeypatch": monkeypatch}
    called = 0
    for name, function in namespace.items():
        if not (name.startswith("test_") and callable(function)):
            continue
        marks = [m for m in getattr(function, "pytestmark", []) if m.name == "x_sandbox"]
        sandbox.admin.reset(**(marks[0].kwargs if marks else {}))
        function(**{p: fixtures[p] for p in inspect.signature(function).parameters})
        called += 1
    return called


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_snippet(snippet: Snippet, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    code = compile(snippet.code, snippet.name, "exec")
    if snippet.mode != "run":
        if snippet.defines_dag:
            from helpers import migrated_airflow_db

            migrated_airflow_db()
            _load_dags(_dag_file(snippet, snippet.code))
        return
    from helpers import migrated_airflow_db

    migrated_airflow_db()
    sandbox = request.getfixturevalue("x_sandbox")
    monkeypatch = request.getfixturevalue("monkeypatch")
    _point_at_sandbox(snippet, sandbox, monkeypatch)
    if snippet.defines_dag:
        output = tmp_path / "output"
        source = snippet.code.replace(OUTPUT_PLACEHOLDER, output.as_uri())
        _run_dags(_load_dags(_dag_file(snippet, source)))
        if OUTPUT_PLACEHOLDER in snippet.code:
            assert list(output.rglob("_manifest.json")), f"{snippet.name} committed no output"
        return
    namespace: dict[str, Any] = {"__name__": f"docs_snippet_{snippet.page.stem}_{snippet.line}"}
    exec(code, namespace)
    _call_tests(namespace, sandbox, monkeypatch)


# --------------------------------------------------------------------------- links
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.M)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # headings inside other fences are not headings
    return {slug(h) for h in HEADING.findall(text)}


def test_slugs_are_githubs() -> None:
    assert slug("invalid_grant: the refresh token was refused") == "invalid_grant-the-refresh-token-was-refused"
    assert slug("Field naming: which names are sent") == "field-naming-which-names-are-sent"
    assert slug("The connection (type `x`, default id `x_default`)") == "the-connection-type-x-default-id-x_default"


def test_links_between_the_pages_resolve() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # an external URL
            path_part, _, anchor = target.partition("#")
            linked = (page.parent / path_part).resolve() if path_part else page
            relative = linked.relative_to(ROOT).as_posix() if linked.is_relative_to(ROOT) else str(linked)
            if not linked.exists():
                if relative not in PAGES_WRITTEN_ELSEWHERE:
                    broken.append(f"{page.relative_to(ROOT)}: {target}")
                continue
            if anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, broken


def test_every_docs_page_is_on_the_map() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w.-]+\.md)", index))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"index.md"}
    assert pages <= linked, pages - linked
    assert "docs/index.md" in (ROOT / "README.md").read_text(encoding="utf-8")
