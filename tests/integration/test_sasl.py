"""SASL: PLAIN, SCRAM-SHA-256, failures, aborts, guests refused, disabled accounts, throttling."""

import base64
import time


def _start(server, nick="someone"):
    c = server.connect()
    c.cap_ls()
    assert c.cap_req(["sasl"]).params[1] == "ACK"
    c.send("NICK " + nick)
    c.send("USER %s 0 * :x" % nick)
    return c


def test_plain_success_900_903(server):
    name, pw = server.add_user()
    c = _start(server, name)
    c.send("AUTHENTICATE PLAIN")
    assert c.expect("AUTHENTICATE").params == ["+"]
    c.send_authenticate(("\0%s\0%s" % (name, pw)).encode())
    m900 = c.expect(lambda m: m.command in ("900", "904"))
    assert m900.command == "900"
    assert m900.params[2] == name
    assert c.expect(lambda m: m.command.isdigit()).command == "903"
    c.send("CAP END")
    w = c.expect("001")
    assert w.params[0] == name


def test_plain_wrong_password_and_unknown_account_identical_904(server):
    name, pw = server.add_user()
    c = _start(server, name)
    r1 = c.sasl_plain(name, pw + "x")
    c2 = _start(server, "nosuchuser")
    r2 = c2.sasl_plain("nosuchuser" + name, "whatever")
    assert r1.command == "904"
    assert r2.command == "904"
    assert r1.params[1:] == r2.params[1:]
    # the connection stays and can still log in
    assert c.sasl_plain(name, pw).command == "903"


def test_malformed_base64_904_connection_stays(server):
    name, pw = server.add_user()
    c = _start(server, name)
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE")
    c.send("AUTHENTICATE !!!notbase64***")
    assert c.expect(lambda m: m.command.isdigit()).command == "904"
    c.ping("alive")
    assert c.sasl_plain(name, pw).command == "903"


def test_malformed_plain_payload_904_connection_stays(server):
    name, pw = server.add_user()
    c = _start(server, name)
    for payload in (b"no-nul-at-all", b"\0only-user", b"\0\0", ("other\0%s\0%s" % (name, pw)).encode()):
        c.send("AUTHENTICATE PLAIN")
        c.expect("AUTHENTICATE")
        c.send("AUTHENTICATE " + base64.b64encode(payload).decode())
        m = c.expect(lambda m: m.command.isdigit())
        assert m.command == "904", (payload, m)
    c.ping("alive")


def test_authenticate_star_aborts_906(server):
    c = _start(server)
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE")
    c.send("AUTHENTICATE *")
    assert c.expect(lambda m: m.command.isdigit()).command == "906"
    c.ping("alive")


def test_unknown_mechanism_908_and_904(server):
    c = _start(server)
    c.send("AUTHENTICATE DIGEST-MD5")
    m = c.expect(lambda m: m.command.isdigit())
    assert m.command == "908"
    assert m.params[1] == "PLAIN,SCRAM-SHA-256"
    assert c.expect(lambda m: m.command.isdigit()).command == "904"


def test_scram_sha256_success(server):
    name, pw = server.add_user()
    c = _start(server, name)
    r = c.sasl_scram(name, pw)
    assert r.command == "903", r
    assert c.server_signature_ok, "server signature (v=) did not verify"
    c.send("CAP END")
    assert c.expect("001").params[0] == name


def test_scram_wrong_password_904(server):
    name, pw = server.add_user()
    c = _start(server, name)
    r = c.sasl_scram(name, pw + "nope")
    assert r.command == "904"
    c.ping("alive")


def test_scram_unknown_account_904(server):
    c = _start(server, "ghost")
    r = c.sasl_scram("ghost" + str(time.time_ns()), "pw")
    assert r.command == "904"


def test_no_sasl_without_guests_refused_with_clear_message(server):
    name, _ = server.add_user()
    c = server.connect()
    c.send("NICK " + name)
    c.send("USER %s 0 * :x" % name)
    lines = c.wait_closed()
    fail = [m for m in lines if m.command == "FAIL"]
    err = [m for m in lines if m.command == "ERROR"]
    assert fail and fail[0].params[:2] == ["*", "ACCOUNT_REQUIRED"], lines
    assert "SASL" in fail[0].last
    assert err and "SASL" in err[0].last
    assert not any(m.command == "001" for m in lines)


def test_chat_disabled_account_904(make_server):
    s = make_server(start=False, n_users=2)
    name, pw = s.add_user()
    s.ctl("user", "set", name, "--chat-enabled", "no")
    s.start()
    c = _start(s, name)
    assert c.sasl_plain(name, pw).command == "904"
    c2 = _start(s, name)
    assert c2.sasl_scram(name, pw).command == "904"
    other, opw = s.add_user()
    c3 = _start(s, other)
    assert c3.sasl_plain(other, opw).command == "903"


def test_sasl_after_registration_907(server):
    c = server.client()
    c.send("AUTHENTICATE PLAIN")
    assert c.expect(lambda m: m.command.isdigit()).command == "907"


def test_repeated_failures_slowed_down(make_server):
    s = make_server(auth={"auth_fail_delay_ms": 200}, n_users=1)
    name, pw = s.add_user()
    c = _start(s, name)
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        assert c.sasl_plain(name, "wrong-password").command == "904"
        times.append(time.monotonic() - t0)
    assert times[2] > times[0] + 0.15, times


def test_many_failures_close_connection(server):
    name, pw = server.add_user()
    c = _start(server, name)
    c.timeout = 15
    lines = []
    for i in range(5):
        r = c.sasl_plain(name, "bad%d" % i)
        assert r.command == "904"
    lines = c.wait_closed(timeout=15)
    assert any(m.command == "ERROR" for m in lines), lines


def test_guest_cannot_take_account_name(make_server):
    s = make_server(auth={"allow_guests": "yes"})
    name, _ = s.add_user()
    c = s.connect()
    c.send("NICK " + name)
    c.send("USER g 0 * :guest")
    m = c.expect(lambda m: m.command.isdigit())
    assert m.command == "433", m
    c.send("NICK guest" + name)
    w = c.expect(lambda m: m.command.isdigit())
    assert w.command == "001"
    assert w.params[0] == "guest" + name
