"""Channel lifetime and callbacks on the worker threads: GC while the worker
runs, callbacks that raise, close and shutdown from inside callbacks."""

import gc
import socket
import sys
import threading
import time
import weakref

import pytest

from conftest import run_python, wait_for
from rtpsynth.RtpServer import RtpServer


def _sender(addr):
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return tx, (lambda data: tx.sendto(data, addr))


def test_dropped_channel_keeps_receiving_until_shutdown():
    # As in the original, the server keeps an open channel alive.
    got = []
    srv = RtpServer()
    ch = srv.create_channel(lambda pkt, _a, _t: got.append(pkt), "127.0.0.1")
    addr = ch.local_addr
    ref = weakref.ref(ch)
    del ch
    gc.collect()
    assert ref() is not None
    tx, send = _sender(addr)
    try:
        send(b"after-del")
        assert wait_for(lambda: got == [b"after-del"])
        srv.shutdown()
        gc.collect()
        assert ref() is None
    finally:
        tx.close()


def test_gc_churn_while_worker_delivers():
    # Channels created and closed (and their objects collected) while the
    # worker is busy delivering to other channels.
    counts = [0]
    srv = RtpServer(tick_hz=1000)
    busy = srv.create_channel(lambda *_: counts.__setitem__(0, counts[0] + 1), "127.0.0.1")
    busy.set_target(*busy.local_addr)
    stop = threading.Event()

    def pump():
        while not stop.is_set():
            try:
                busy.send_pkt(b"p" * 32)
            except Exception:
                pass
            time.sleep(0.0005)

    t = threading.Thread(target=pump)
    t.start()
    try:
        refs = []
        for i in range(200):
            c = srv.create_channel(lambda *_: None, "127.0.0.1")
            c.set_target(*busy.local_addr)
            c.send_pkt(b"x")
            refs.append(weakref.ref(c))
            c.close()
            del c
            if i % 50 == 0:
                gc.collect()
        gc.collect()
        assert all(r() is None for r in refs)
        assert wait_for(lambda: counts[0] > 100)
    finally:
        stop.set()
        t.join()
        busy.close()
        srv.shutdown()


def test_pkt_in_that_raises_is_reported_and_worker_goes_on(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_type))
    got = []

    def pkt_in(pkt, _addr, _rtime):
        got.append(pkt)
        if pkt == b"boom":
            raise ValueError("boom")

    srv = RtpServer()
    ch = srv.create_channel(pkt_in, "127.0.0.1")
    tx, send = _sender(ch.local_addr)
    try:
        send(b"boom")
        assert wait_for(lambda: seen == [ValueError])
        send(b"fine")
        assert wait_for(lambda: got == [b"boom", b"fine"])
    finally:
        tx.close()
        ch.close()
        srv.shutdown()


def test_close_from_own_callback_and_from_another():
    srv = RtpServer()
    got_a, got_b = [], []
    holder = {}

    def a_in(pkt, _addr, _rtime):
        got_a.append(pkt)
        holder["a"].close()          # its own channel
        holder["b"].close()          # another channel

    def b_in(pkt, _addr, _rtime):
        got_b.append(pkt)

    holder["a"] = srv.create_channel(a_in, "127.0.0.1")
    holder["b"] = srv.create_channel(b_in, "127.0.0.1")
    a_addr, b_addr = holder["a"].local_addr, holder["b"].local_addr
    tx, send = _sender(a_addr)
    try:
        send(b"1")
        assert wait_for(lambda: holder["a"].closed and holder["b"].closed)
        send(b"2")
        tx.sendto(b"3", b_addr)
        time.sleep(0.1)
        assert got_a == [b"1"] and got_b == []
        with pytest.raises(RuntimeError):
            holder["a"].close()
    finally:
        tx.close()
        srv.shutdown()


def test_shutdown_from_callback():
    srv = RtpServer()
    got = []

    def pkt_in(pkt, _addr, _rtime):
        got.append(pkt)
        srv.shutdown()

    ch = srv.create_channel(pkt_in, "127.0.0.1")
    tx, send = _sender(ch.local_addr)
    try:
        send(b"first")
        assert wait_for(lambda: len(got) == 1)
        send(b"second")
        time.sleep(0.1)
        assert got == [b"first"]
        with pytest.raises(RuntimeError, match="shutting down"):
            srv.create_channel(lambda *_: None, "127.0.0.1")
        assert not ch.closed
        with pytest.raises(RuntimeError, match="Server has been shutdown"):
            ch.close()
        assert ch.closed
        srv.shutdown()
    finally:
        tx.close()


def test_callbacks_run_without_the_gil_held_by_the_worker():
    # A long callback must not block the main thread from running Python.
    started = threading.Event()
    srv = RtpServer()

    def slow(_pkt, _addr, _rtime):
        started.set()
        time.sleep(0.3)

    ch = srv.create_channel(slow, "127.0.0.1")
    tx, send = _sender(ch.local_addr)
    try:
        send(b"x")
        assert started.wait(2)
        t0 = time.monotonic()
        n = sum(1 for _ in range(1000))
        assert n == 1000 and time.monotonic() - t0 < 0.25
        ch.close()                    # waits for the running callback
    finally:
        tx.close()
        srv.shutdown()


def test_proc_callbacks_raise_return_garbage_and_close_themselves():
    r = run_python(r'''
        import time
        from rtpsynth.RtpProc import RtpProc, ChannelProcError
        p = RtpProc()
        assert RtpProc() is p
        try:
            RtpProc(1)
        except TypeError:
            pass
        else:
            raise SystemExit("RtpProc(1) accepted")

        def check(ret, cause_type):
            ch = p.create_channel(lambda now, dl: ret)
            try:
                ch.close()
            except ChannelProcError as e:
                assert isinstance(e.__cause__, cause_type), e.__cause__
                assert str(e) == "channel processing callback failed"
            else:
                raise SystemExit(f"no error for {ret!r}")
            assert ch.closed

        check("soon", TypeError)
        check(-5, OverflowError)

        # A task that closes itself, and one that closes another.
        calls = {"self": 0, "victim": 0}
        holder = {}
        def victim(now, dl):
            calls["victim"] += 1
            return now + 1_000_000
        holder["victim"] = p.create_channel(victim)
        def closer(now, dl):
            calls["self"] += 1
            if dl:
                holder["victim"].close()
                holder["self"].close()
                return now + 1_000_000
            return now + 2_000_000
        holder["self"] = p.create_channel(closer)
        time.sleep(0.2)
        assert calls["self"] == 2, calls
        assert holder["self"].closed and holder["victim"].closed
        v = calls["victim"]
        time.sleep(0.05)
        assert calls["victim"] == v

        # A channel created from inside a callback runs its first call inline.
        inner = []
        def maker(now, dl):
            inner.append(p.create_channel(lambda n, d: None))
            return None
        m = p.create_channel(maker)
        assert len(inner) == 1 and not inner[0].closed
        inner[0].close(); m.close()

        # Garbage collection of an unclosed channel unschedules it.
        n = [0]
        def counter(now, dl):
            n[0] += 1
            return now + 1_000_000
        c = p.create_channel(counter)
        del c
        k = n[0]
        time.sleep(0.05)
        assert n[0] == k, (n[0], k)

        # Shutdown from inside a callback.
        hits = [0]
        def stopper(now, dl):
            hits[0] += 1
            if dl:
                p.shutdown()
            return now + 1_000_000
        s = p.create_channel(stopper)
        time.sleep(0.1)
        assert hits[0] == 2, hits
        try:
            p.create_channel(lambda n, d: None)
        except RuntimeError as e:
            assert "shutting down" in str(e)
        else:
            raise SystemExit("create after shutdown accepted")
        s.close()
        p.shutdown()
        print("ok")
    ''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_interpreter_exit_with_running_workers():
    r = run_python(r'''
        import socket, time
        from rtpsynth.RtpServer import RtpServer
        from rtpsynth.RtpProc import RtpProc
        srv = RtpServer()
        ch = srv.create_channel(lambda *a: None, "127.0.0.1")
        ch.set_target(*ch.local_addr)
        for _ in range(20):
            ch.send_pkt(b"x")
        p = RtpProc()
        c = p.create_channel(lambda now, dl: now + 100_000)
        time.sleep(0.05)
        print("exiting")
    ''', timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "exiting"


def test_python_threads_run_while_proc_callbacks_keep_the_worker_busy():
    # The scheduler's worker keeps the GIL from one due call to the next;
    # other Python threads must still run, also when it never runs out of
    # due calls (they get the GIL after the switch interval, 5 ms, as from
    # any thread running Python code).
    r = run_python(r'''
        import threading, time
        from rtpsynth.RtpProc import RtpProc
        p = RtpProc()
        n = [0]
        def busy(now, dl):
            n[0] += 1
            return now                 # due again at once: never idle
        chs = [p.create_channel(busy) for _ in range(4)]
        # The main thread and another Python thread both need the GIL.
        done = []
        def spin():
            for _ in range(50):
                time.sleep(0)
            done.append(1)
        t = threading.Thread(target=spin)
        t0 = time.monotonic()
        t.start()
        for _ in range(50):
            time.sleep(0)
        t.join(10)
        took = time.monotonic() - t0
        k = n[0]
        time.sleep(0.01)
        assert done == [1] and took < 5, took
        assert n[0] > k, "callbacks stopped"
        for c in chs:
            c.close()
        k = n[0]
        time.sleep(0.01)
        assert n[0] == k, "callbacks after close"
        p.shutdown()
        print("ok", round(took, 3))
    ''', timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok")
