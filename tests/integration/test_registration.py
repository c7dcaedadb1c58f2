"""Registration: CAP negotiation, NICK/USER, 001-005, state errors, PING, QUIT."""

import pytest

from conftest import ALL_CAPS


def test_cap_ls_302_lists_caps_with_sasl_values(server):
    c = server.connect()
    caps = c.cap_ls()
    assert set(ALL_CAPS) | {"sasl"} == set(caps)
    assert caps["sasl"] == "PLAIN,SCRAM-SHA-256"


def test_cap_req_ack_and_nak_whole_request(server):
    c = server.connect()
    c.cap_ls()
    r = c.cap_req(["message-tags", "server-time"])
    assert r.params[1] == "ACK"
    assert set(r.last.split()) == {"message-tags", "server-time"}
    r = c.cap_req(["echo-message", "no-such-cap"])
    assert r.params[1] == "NAK"
    assert set(r.last.split()) == {"echo-message", "no-such-cap"}
    c.send("CAP LIST")
    m = c.expect(lambda m: m.command == "CAP" and m.params[1] == "LIST")
    # the NAKed request changed nothing (CAP LS 302 implies cap-notify)
    assert set(m.last.split()) - {"cap-notify"} == {"message-tags", "server-time"}


def test_cap_end_completes_registration_with_isupport(server):
    name, pw = server.add_user()
    c = server.connect()
    c.send("CAP LS 302")
    c.send("NICK " + name)
    c.send("USER %s 0 * :Real Name" % name)
    c.expect(lambda m: m.command == "CAP" and m.params[1] == "LS")
    c.cap_req(["sasl"])
    assert c.sasl_plain(name, pw).command == "903"
    # registration waits for CAP END
    c.expect_nothing(lambda m: m.command == "001", timeout=0.3)
    c.send("CAP END")
    lines = c.collect("376")
    cmds = [m.command for m in lines]
    for n in ("001", "002", "003", "004", "005"):
        assert n in cmds, cmds
    assert cmds.index("001") < cmds.index("002") < cmds.index("003") < cmds.index("004")
    w = lines[cmds.index("001")]
    assert w.source == "pchat.test"
    assert w.params[0] == name
    assert name + "!" in w.last
    m4 = lines[cmds.index("004")]
    assert m4.params[1] == "pchat.test"
    tokens = {}
    for m in lines:
        if m.command == "005":
            assert m.last == "are supported by this server"
            for t in m.params[1:-1]:
                k, _, v = t.partition("=")
                tokens[k] = v
    assert "UTF8ONLY" in tokens
    assert tokens["BOT"] == "B"
    assert "WHOX" in tokens
    assert tokens["CASEMAPPING"] == "ascii"
    assert tokens["CHANTYPES"] == "#"
    assert "NETWORK" in tokens


def test_commands_before_registration_451(server):
    c = server.connect()
    for cmd in ("JOIN #x", "PRIVMSG #x :hi", "WHOIS admin", "LIST"):
        c.send(cmd)
        m = c.expect(lambda m: m.command.isdigit())
        assert m.command == "451", (cmd, m)
    c.ping("still-here")


def test_user_twice_462(server):
    c = server.connect()
    c.send("CAP LS 302")
    c.send("USER a 0 * :A")
    c.send("USER b 0 * :B")
    m = c.expect(lambda m: m.command.isdigit())
    assert m.command == "462"


def test_user_after_registration_462(server):
    c = server.client()
    c.send("USER x 0 * :X")
    assert c.expect(lambda m: m.command.isdigit()).command == "462"


def test_ping_pong_before_and_after_registration(server):
    c = server.connect()
    m = c.ping("abc123")
    assert m.source == "pchat.test"
    assert m.params == ["pchat.test", "abc123"]
    c2 = server.client()
    assert c2.ping("xyz").params[-1] == "xyz"


def test_quit_closes_with_error(server):
    c = server.client()
    c.send("QUIT :gone fishing")
    lines = c.wait_closed()
    err = [m for m in lines if m.command == "ERROR"]
    assert err, lines
    assert "gone fishing" in err[0].last


def test_nick_change_refused_after_registration(server):
    c = server.client()
    c.send("NICK other" + c.nick)
    m = c.expect(lambda m: m.command in ("FAIL", "432", "433", "NICK"))
    assert m.command == "FAIL"
    assert m.params[:2] == ["NICK", "CANNOT_CHANGE_NICK"]


@pytest.mark.parametrize("caps", [(), ("multi-prefix",)])
def test_register_with_and_without_caps(server, caps):
    c = server.client(caps=caps)
    assert c.nick
    assert c.ping("ok").last == "ok"


def test_sigterm_tells_clients_and_exits_0(make_server):
    s = make_server(n_users=1, n_rooms=1)
    room = s.add_room()
    c = s.client(caps=("echo-message",))
    c.join(room)
    c.send("PRIVMSG %s :before shutdown" % room)
    c.expect(lambda m: m.command == "PRIVMSG")
    s.proc.terminate()
    lines = c.wait_closed(timeout=10)
    assert any(m.command == "ERROR" for m in lines), lines
    assert s.proc.wait(10) == 0, s.log_text()[-3000:]
