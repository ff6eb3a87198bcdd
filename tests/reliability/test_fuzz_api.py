"""Schemathesis fuzzing of the whole API against /openapi.json, in process (WSGI), over a
real index (a copy of the ~3,000-article base index) and a real spool whose applier thread
runs, with the API token, so writes (PUT/DELETE/POST, with and without ?wait) are applied.

Every generated case, positive and negative, goes through all of Schemathesis's response
checks: no server error, status codes, content types, headers and bodies as documented,
invalid input rejected, valid input accepted. Two rules of the API cannot be written in
OpenAPI 3.0 and are excused from "valid input accepted" only (`by_design_400`):
``page * per_page <= max_depth`` and ``date_from <= date_to`` (both stated in the spec's
parameter descriptions, both answered 400 on purpose).

Needs schemathesis==4.32.5 (the test extra).
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest

if os.environ.get("CI"):  # never skipped silently in CI: the test extra must provide it
    import schemathesis
else:
    schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis.specs.openapi import checks as oas_checks  # noqa: E402

from tests.reliability.conftest import AUTH, TOKEN, clone_index, requires_corpus  # noqa: E402

pytestmark = [
    requires_corpus,
    # Schemathesis's own strategies use the random module; Hypothesis warns about it.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

MAX_EXAMPLES = 40  # per operation (and per generation mode)
STATEFUL_SCENARIOS = 25
STATEFUL_STEPS = 150
MAX_DEPTH = 1000
COUNTS = {"cases": 0, "stateful_steps": 0, "stateful_sessions": 0}
STATUS: dict[int, int] = {}


APPLIER = """
import sys, time
from pathlib import Path
from indexer.spool import Applier, Spool
applier = Applier(Path(sys.argv[1]), Spool(Path(sys.argv[2]), fsync=False), 10.0)
applier.start_thread(0.05)
while True:
    time.sleep(3600)
"""


@pytest.fixture(scope="module")
def fuzz_app(base_index, tmp_path_factory):
    """The app in this process; the spool applier in another one, as in production (another
    gunicorn worker). Not a thread here: Hypothesis reseeds the global `random` module for
    every example, and Whoosh names new segments with it, so an applier thread in this
    process would get colliding segment names."""
    import subprocess

    from config.settings import ApiSettings, IndexSettings, SearchSettings, ServerSettings, Settings
    from indexer.spool import Spool
    from search.api.app import create_app
    from tests.reliability.conftest import PYTHON, ROOT, child_env

    tmp = tmp_path_factory.mktemp("fuzz")
    index = clone_index(base_index.path, tmp)
    conf = Settings(index=IndexSettings(path=index, spool=tmp / "spool", lock_timeout=10),
                    search=SearchSettings(refresh_interval=0.2, max_depth=MAX_DEPTH),
                    server=ServerSettings(max_body_bytes=200_000), api=ApiSettings(token=TOKEN))
    spool = Spool(tmp / "spool", fsync=False)
    app = create_app(conf, spool=spool)
    log = open(tmp / "applier.log", "wb")
    applier = subprocess.Popen([PYTHON, "-c", APPLIER, str(index), str(tmp / "spool")], cwd=ROOT,
                               env=child_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        yield app
    finally:
        applier.kill()
        applier.wait()
        log.close()
        app.vnsearch.engines.close()
        failed = list((tmp / "spool" / "failed").glob("*.reason.txt"))
        assert "Traceback" not in (tmp / "applier.log").read_text("utf-8", "replace"), \
            (tmp / "applier.log").read_text("utf-8", "replace")[-3000:]
        assert not failed, [f.read_text() for f in failed[:3]]


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def by_design_400(case, response) -> bool:
    """The two cross-parameter rules of GET /search that JSON Schema cannot express."""
    if response.status_code != 400 or case.operation.path != "/search":
        return False
    query = case.query or {}
    try:
        page, per_page = int(query.get("page", 1)), int(query.get("per_page", 10))
    except (TypeError, ValueError):
        page = per_page = 1
    if page * per_page > MAX_DEPTH:
        return True
    start, end = _date(query.get("date_from")), _date(query.get("date_to"))
    return bool(start and end and start > end)


def positive_data_acceptance_except_by_design(ctx, response, case):
    if by_design_400(case, response):
        return None
    return oas_checks.positive_data_acceptance(ctx, response, case)


def _authorize(case) -> None:
    """The real token on every case, except those whose negated part is the headers (the
    Authorization header missing or malformed on purpose: 401 expected)."""
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.generation.modes import GenerationMode

    components = case.meta.components if case.meta is not None else {}
    info = components.get(ParameterLocation.HEADER)
    if info is not None and info.mode == GenerationMode.NEGATIVE:
        return
    case.headers = {**(case.headers or {}), **AUTH}


def _call(case):
    _authorize(case)
    response = case.call()
    case.validate_response(
        response,
        excluded_checks=[oas_checks.positive_data_acceptance],
        additional_checks=[positive_data_acceptance_except_by_design])
    COUNTS["cases"] += 1
    STATUS[response.status_code] = STATUS.get(response.status_code, 0) + 1
    return response


OPERATIONS = [("GET", "/search"), ("GET", "/suggest"), ("POST", "/documents"),
              ("GET", "/documents/{id}"), ("PUT", "/documents/{id}"), ("DELETE", "/documents/{id}"),
              ("GET", "/operations/{op}"), ("GET", "/health"), ("GET", "/metrics")]
# (GET /openapi.json, the spec itself, Schemathesis leaves out; test_openapi checks it.)


def test_the_operation_list_is_the_whole_spec(api_schema) -> None:
    found = {(r.ok().method.upper(), r.ok().path) for r in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


# (Schemathesis's pytest integration, schema.parametrize / from_fixture, reads a private
# pytest attribute that pytest 9 no longer has; the strategies are driven directly instead.)
# Operations with nothing that can be invalid (no parameters, or a free-form string) have
# no negative cases.
NO_NEGATIVE = {("GET", "/operations/{op}"), ("GET", "/health"), ("GET", "/metrics")}
CASES = [(m, p, mode) for m, p in OPERATIONS for mode in ("positive", "negative")
         if mode == "positive" or (m, p) not in NO_NEGATIVE]


@pytest.mark.parametrize("method, path, mode", CASES)
def test_every_operation_conforms_to_the_spec(api_schema, method, path, mode) -> None:
    from hypothesis import given
    from schemathesis.generation.modes import GenerationMode

    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

    @given(strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def fuzz(case) -> None:
        _call(case)

    fuzz()


def test_stateful_sequences_conform_to_the_spec(api_schema) -> None:
    """Links inferred by Schemathesis (e.g. a write's op -> GET /operations/{op}, a PUT's id
    -> GET/DELETE /documents/{id}) chained into sequences."""
    machine = api_schema.as_state_machine()

    class Workflow(machine):
        def validate_response(self, response, case, **kwargs):
            COUNTS["stateful_steps"] += 1
            STATUS[response.status_code] = STATUS.get(response.status_code, 0) + 1
            case.validate_response(
                response,
                excluded_checks=[oas_checks.positive_data_acceptance],
                additional_checks=[positive_data_acceptance_except_by_design])

        def step(self, input):
            _authorize(input.case)
            return super().step(input)

    from hypothesis.errors import FlakyStrategyDefinition

    # As Schemathesis's own runner does: when the server's state changes what a replayed
    # scenario draws (a document that was there is gone), Hypothesis calls the generation
    # inconsistent; start a fresh session. Check failures are never caught here.
    sessions = flaky = 0
    while COUNTS["stateful_steps"] < STATEFUL_STEPS and sessions < 8:
        sessions += 1
        try:
            Workflow.run(settings=settings(max_examples=STATEFUL_SCENARIOS, stateful_step_count=8,
                                           deadline=None, database=None,
                                           phases=[Phase.explicit, Phase.generate],
                                           suppress_health_check=list(HealthCheck)))
        except FlakyStrategyDefinition:
            flaky += 1
    COUNTS["stateful_sessions"] = sessions
    assert COUNTS["stateful_steps"] >= STATEFUL_STEPS // 2, (COUNTS, flaky)


def test_fuzzing_really_ran_and_exercised_writes(fuzz_app) -> None:
    print(f"\nschemathesis: {COUNTS['cases']} cases, {COUNTS['stateful_steps']} stateful steps "
          f"in {COUNTS['stateful_sessions']} sessions; "
          f"statuses {dict(sorted(STATUS.items()))}")
    assert COUNTS["cases"] >= 200
    assert STATUS.get(202, 0) + STATUS.get(200, 0) > 0 and 500 not in STATUS
    spool_dir = Path(fuzz_app.vnsearch.spool.dir)
    deadline = time.monotonic() + 30
    while any((spool_dir / "pending").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any((spool_dir / "pending").glob("*.json")), "accepted writes were not applied"
    assert len(list((spool_dir / "applied").iterdir())) > 0
