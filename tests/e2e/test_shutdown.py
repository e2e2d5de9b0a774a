"""Graceful shutdown on SIGTERM / SIGINT."""
import asyncio
import signal
import time

from gwtest import run

TIMEOUT = 3  # --shutdown-timeout


def test_sigterm_closes_clients_1001_and_exits_0(gateway):
    gw = gateway(shutdown_timeout=TIMEOUT)

    async def body():
        clients = [await gw.join("chess", "alice"),
                   await gw.join("chess", "bob"),
                   await gw.join("go", "carol")]
        t0 = time.monotonic()
        gw.send_signal(signal.SIGTERM)
        await asyncio.gather(*(c.expect_close(1001, "going_away",
                                              timeout=TIMEOUT + 2)
                               for c in clients))
        loop = asyncio.get_running_loop()
        rc = await loop.run_in_executor(None, gw.wait_exit, TIMEOUT + 5)
        elapsed = time.monotonic() - t0
        assert rc is not None, "gateway still running after SIGTERM"
        assert rc == 0, f"exit code {rc}"
        # Every client answered the close at once: no need to wait the
        # whole drain timeout (allow 1s slack for a slow/ASan build).
        assert elapsed <= TIMEOUT + 1, f"exit took {elapsed:.2f}s"
    run(body())


def test_sigint_also_graceful(gateway):
    gw = gateway(shutdown_timeout=TIMEOUT)

    async def body():
        a = await gw.join("chess", "alice")
        gw.send_signal(signal.SIGINT)
        await a.expect_close(1001, "going_away", timeout=TIMEOUT + 2)
    run(body())
    rc = gw.wait_exit(TIMEOUT + 5)
    assert rc == 0, f"exit code {rc} after SIGINT"


def test_unresponsive_client_does_not_block_exit(gateway):
    """A peer that never answers the close frame (nor reads): the node
    still exits 0 within --shutdown-timeout."""
    gw = gateway(shutdown_timeout=TIMEOUT)

    async def body():
        await gw.raw("chess", "zombie", rcvbuf=4096)
        a = await gw.join("chess", "alice")
        t0 = time.monotonic()
        gw.send_signal(signal.SIGTERM)
        await a.expect_close(1001, "going_away", timeout=TIMEOUT + 2)
        loop = asyncio.get_running_loop()
        rc = await loop.run_in_executor(None, gw.wait_exit, TIMEOUT + 5)
        elapsed = time.monotonic() - t0
        assert rc is not None, \
            f"gateway still running {TIMEOUT + 5}s after SIGTERM"
        assert rc == 0, f"exit code {rc}"
        assert elapsed <= TIMEOUT + 1.5, \
            f"exit took {elapsed:.2f}s with --shutdown-timeout {TIMEOUT}"
    run(body())


def test_no_new_connections_while_draining(gateway):
    gw = gateway(shutdown_timeout=TIMEOUT)

    async def body():
        z = await gw.raw("chess", "zombie")  # keeps the node draining
        gw.send_signal(signal.SIGTERM)
        ev = await z.recv_event(TIMEOUT)  # the 1001 close: draining now
        assert ev[0] == "close" and ev[1] == 1001, ev
        try:
            c = await gw.connect("chess", "late")
        except OSError:
            return  # listener closed: fine
        except Exception as e:  # HTTP refusal: fine
            if "InvalidStatusCode" in type(e).__name__ or \
                    "InvalidMessage" in type(e).__name__:
                return
            raise
        code, reason, got = await c.wait_close(TIMEOUT + 2)
        assert not [m for m in got if m.get("type") == "welcome"], \
            "a connection was admitted during shutdown"
        assert code in (1001, 1006), (code, reason)
    run(body())
    assert gw.wait_exit(TIMEOUT + 5) == 0
