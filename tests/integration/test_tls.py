"""TLS listener: registration and messaging over TLS (verified against the
generated certificate), and the generated key's file mode."""

import os
import ssl
import stat

POOL_USERS = 6
POOL_ROOMS = 2


def test_tls_registration_and_messaging_verified(server):
    cert = os.path.join(server.data_dir, "tls", "cert.pem")
    assert os.path.exists(cert)
    room = server.add_room()
    a = server.client(tls=True, caps=("echo-message", "message-tags"), cafile=cert)
    assert isinstance(a.sock, ssl.SSLSocket)
    assert a.sock.version() in ("TLSv1.2", "TLSv1.3")
    b = server.client(tls=False, caps=())
    a.join(room)
    b.join(room)
    a.send("PRIVMSG %s :over tls" % room)
    assert "msgid" in a.expect(lambda m: m.command == "PRIVMSG" and m.last == "over tls").tags
    b.expect(lambda m: m.command == "PRIVMSG" and m.last == "over tls")
    b.send("PRIVMSG %s :to the tls client" % room)
    a.expect(lambda m: m.command == "PRIVMSG" and m.last == "to the tls client")


def test_tls_scram_unverified_context(server):
    name, pw = server.add_user()
    c = server.connect(tls=True)
    c.register(name, pw, mech="SCRAM")
    assert c.ping("tls").last == "tls"


def test_whois_secure_over_tls(server):
    a = server.client(tls=True)
    b = server.client()
    b.send("WHOIS " + a.nick)
    lines = b.collect("318")
    assert "671" in [m.command for m in lines]
    b.send("WHOIS " + b.nick)
    lines = b.collect("318")
    assert "671" not in [m.command for m in lines]


def test_generated_key_mode_0600(make_server):
    s = make_server()  # pchatd itself creates the data directory
    key = os.path.join(s.data_dir, "tls", "key.pem")
    st = os.stat(key)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert stat.S_IMODE(os.stat(s.data_dir).st_mode) == 0o700
    pw = os.path.join(s.data_dir, "admin.password")
    assert stat.S_IMODE(os.stat(pw).st_mode) == 0o600
    with open(pw) as f:
        s.passwords["admin"] = f.read().strip()
    c = s.client("admin", tls=True)
    assert c.nick == "admin"
