"""Fixtures for the gateway's end-to-end tests.

`gateway(**opts)` starts a gateway (see gwtest.Gateway) and registers it;
at teardown every gateway still running gets SIGTERM and must exit with
code 0 within its shutdown timeout (under `make asan` a leak or a sanitizer
report makes the exit code non-zero). A failing test shows each gateway's
log tail.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import gwtest  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for gw in getattr(item, "_gateways", []):
            rep.sections.append((f"gateway {gw.node_id} log tail "
                                 f"({gw.log_path})", gw.log_tail(60)))


@pytest.fixture
def gateway(request, tmp_path):
    started = []
    request.node._gateways = started

    def start(env=None, extra_args=(), wait=True, ssl_context=None, **opts):
        gw = gwtest.Gateway(tmp_path, opts, env=env, extra_args=extra_args,
                            ssl_context=ssl_context)
        started.append(gw)
        if wait:
            gw.start()
        else:
            gw.spawn()
        return gw

    yield start

    problems = []
    for gw in started:
        if gw.proc is None:
            continue
        was_running = gw.running()
        rc = gw.stop()
        if getattr(gw, "expect_failure", False) or \
                getattr(gw, "start_failed", False):
            continue  # the test itself already failed on start-up
        if rc != 0:
            how = "did not exit after SIGTERM (killed)" if rc is None else \
                f"exited with {rc}"
            when = "at teardown" if was_running else "before teardown"
            problems.append(f"gateway {gw.node_id} {how} {when}, want 0\n"
                            f"--- log tail ({gw.log_path}) ---\n"
                            + gw.log_tail(60))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
