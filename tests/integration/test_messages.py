"""Messages and queries between registered clients: tags per capability,
echo-message, labeled-response, TAGMSG, private messages, several
connections of one account, AWAY, extended-join, SETNAME, INVITE, NAMES,
TOPIC, LIST, WHO/WHOX, WHOIS, MODE, MOTD/LUSERS/VERSION/TIME, errors."""

import time
import re

import pytest

from conftest import ALL_CAPS

POOL_USERS = 64
POOL_ROOMS = 32

TAG_CAPS = ("message-tags", "server-time", "account-tag", "echo-message")
MSGID_RE = re.compile(r"^[0-9a-zA-Z_-]{8,}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def is_msg(cmd, text):
    return lambda m: m.command == cmd and m.last == text


@pytest.fixture
def room(server):
    return server.add_room()


def pair(server, room, caps_a=ALL_CAPS, caps_b=()):
    a = server.client(caps=caps_a)
    b = server.client(caps=caps_b)
    a.join(room)
    b.join(room)
    a.drain(0.05)
    return a, b


def test_privmsg_tags_for_tag_clients_and_none_for_plain(server, room):
    a, b = pair(server, room, caps_a=TAG_CAPS, caps_b=())
    c = server.client(caps=TAG_CAPS)
    c.join(room)
    a.drain(0.05)
    b.send("PRIVMSG %s :hello from b" % room)
    m = a.expect(is_msg("PRIVMSG", "hello from b"))
    assert m.params[0] == room
    assert m.nick == b.nick
    assert MSGID_RE.match(m.tags.get("msgid", "")), m.raw
    assert TIME_RE.match(m.tags.get("time", "")), m.raw
    assert m.tags.get("account") == b.nick
    m3 = c.expect(is_msg("PRIVMSG", "hello from b"))
    assert m3.tags["msgid"] == m.tags["msgid"]
    # b has no caps: the line from a carries no tags
    a.send("PRIVMSG %s :hello from a" % room)
    mb = b.expect(is_msg("PRIVMSG", "hello from a"))
    assert mb.tags == {}
    assert not mb.raw.startswith("@")
    # b did not negotiate echo-message: no echo of its own line
    b.expect_nothing(is_msg("PRIVMSG", "hello from b"), timeout=0.2)


def test_notice_delivered_with_tags(server, room):
    a, b = pair(server, room, caps_a=TAG_CAPS, caps_b=())
    b.send("NOTICE %s :a notice" % room)
    m = a.expect(is_msg("NOTICE", "a notice"))
    assert "msgid" in m.tags and "time" in m.tags
    assert m.tags.get("account") == b.nick


def test_echo_message_same_msgid_as_delivery(server, room):
    a, b = pair(server, room, caps_a=TAG_CAPS, caps_b=("message-tags",))
    a.send("PRIVMSG %s :echo me" % room)
    echo = a.expect(is_msg("PRIVMSG", "echo me"))
    got = b.expect(is_msg("PRIVMSG", "echo me"))
    assert echo.nick == a.nick
    assert echo.tags["msgid"] == got.tags["msgid"]


def test_labeled_echo_and_ack(server, room):
    a, b = pair(server, room)
    a.send("@label=lab1 PRIVMSG %s :labeled text" % room)
    echo = a.expect(is_msg("PRIVMSG", "labeled text"))
    assert echo.tags.get("label") == "lab1"
    other = b.expect(is_msg("PRIVMSG", "labeled text"))
    assert "label" not in other.tags
    a.send("@label=lab2 PONG :nothing")
    ack = a.expect(lambda m: m.tags.get("label") == "lab2")
    assert ack.command == "ACK"


def test_labeled_whois_in_batch(server, room):
    a, b = pair(server, room)
    a.send("@label=w1 WHOIS " + b.nick)
    start = a.expect("BATCH")
    assert start.tags.get("label") == "w1"
    assert start.params[0].startswith("+")
    ref = start.params[0][1:]
    assert start.params[1] == "labeled-response"
    lines = a.collect(lambda m: m.command == "BATCH" and m.params[0] == "-" + ref)
    inner = lines[:-1]
    assert [m.command for m in inner][0] == "311"
    assert "318" in [m.command for m in inner]
    assert all(m.tags.get("batch") == ref for m in inner), [m.raw for m in inner]


def test_labeled_single_reply_without_batch(server):
    a = server.client(caps=("labeled-response",))
    a.send("@label=t1 TIME")
    m = a.expect("391")
    assert m.tags.get("label") == "t1"


def test_tagmsg_only_to_message_tags_clients_with_client_tags(server, room):
    a, b = pair(server, room, caps_a=("message-tags",), caps_b=())
    c = server.client(caps=("message-tags",))
    c.join(room)
    a.drain(0.05)
    a.send("@+typing=active TAGMSG " + room)
    m = c.expect("TAGMSG")
    assert m.tags.get("+typing") == "active"
    assert m.params == [room]
    assert m.nick == a.nick
    b.expect_nothing(lambda m: m.command == "TAGMSG", timeout=0.3)
    # client-only tags are relayed on PRIVMSG too
    a.send("@+example.org/x=1 PRIVMSG %s :with client tag" % room)
    m = c.expect(is_msg("PRIVMSG", "with client tag"))
    assert m.tags.get("+example.org/x") == "1"


def test_private_messages_between_accounts(server):
    a = server.client(caps=TAG_CAPS)
    b = server.client(caps=TAG_CAPS)
    a.send("PRIVMSG %s :psst" % b.nick)
    m = b.expect(is_msg("PRIVMSG", "psst"))
    assert m.params[0] == b.nick
    assert m.nick == a.nick
    assert "msgid" in m.tags
    echo = a.expect(is_msg("PRIVMSG", "psst"))
    assert echo.params[0] == b.nick
    assert echo.tags["msgid"] == m.tags["msgid"]
    b.send("NOTICE %s :reply" % a.nick)
    assert a.expect(is_msg("NOTICE", "reply")).nick == b.nick


def test_one_account_two_connections(server, room):
    name, pw = server.add_user()
    a1 = server.client(name, caps=TAG_CAPS)
    a1.join(room)
    a2 = server.client(name, caps=TAG_CAPS)
    # the second session is shown the rooms the account is in
    j = a2.expect(lambda m: m.command == "JOIN")
    assert j.params[0] == room
    a3 = server.client(name, caps=())  # no echo-message
    b = server.client(caps=TAG_CAPS)
    b.join(room)
    for c in (a1, a2, a3):
        c.drain(0.05)
    a1.send("PRIVMSG %s :from session one" % room)
    for c in (a1, a2, a3, b):
        m = c.expect(is_msg("PRIVMSG", "from session one"))
        assert m.nick == name
    b.send("PRIVMSG %s :to all sessions" % room)
    for c in (a1, a2, a3):
        c.expect(is_msg("PRIVMSG", "to all sessions"))
    # a3 has no echo-message: it still sees its own account's other session's
    # messages, but not its own
    a3.send("PRIVMSG %s :from session three" % room)
    a1.expect(is_msg("PRIVMSG", "from session three"))
    a2.expect(is_msg("PRIVMSG", "from session three"))
    a3.expect_nothing(is_msg("PRIVMSG", "from session three"), timeout=0.3)
    # a private message to the account reaches every session
    b.send("PRIVMSG %s :dm" % name)
    for c in (a1, a2, a3):
        c.expect(is_msg("PRIVMSG", "dm"))


def test_away_notify_and_301(server, room):
    a, b = pair(server, room, caps_a=("away-notify",), caps_b=())
    b.send("AWAY :gone to lunch")
    assert b.expect(lambda m: m.command.isdigit()).command == "306"
    m = a.expect("AWAY")
    assert m.nick == b.nick
    assert m.params == ["gone to lunch"]
    a.send("PRIVMSG %s :are you there" % b.nick)
    r = a.expect("301")
    assert r.params[1:] == [b.nick, "gone to lunch"]
    b.send("AWAY")
    assert b.expect(lambda m: m.command.isdigit()).command == "305"
    m = a.expect("AWAY")
    assert m.params == []
    a.send("PRIVMSG %s :back?" % b.nick)
    a.expect_nothing(lambda m: m.command == "301", timeout=0.3)


def test_extended_join_and_account_tag(server, room):
    a = server.client(caps=("extended-join", "account-tag"))
    b = server.client(caps=(), realname="Bob Real")
    a.join(room)
    b.join(room)
    m = a.expect(lambda m: m.command == "JOIN" and m.nick == b.nick)
    assert m.params == [room, b.nick, "Bob Real"]
    assert m.tags.get("account") == b.nick
    mb = b.log[[x.command for x in b.log].index("JOIN")]
    assert mb.params == [room]


def test_setname(server, room):
    a, b = pair(server, room, caps_a=("setname",), caps_b=())
    b.send("SETNAME :New Real Name")
    m = a.expect("SETNAME")
    assert m.nick == b.nick
    assert m.params == ["New Real Name"]
    a.send("WHOIS " + b.nick)
    assert a.expect("311").last == "New Real Name"
    b.expect_nothing(lambda m: m.command == "SETNAME", timeout=0.2)


def test_invite_and_invite_notify(server, room):
    a, b = pair(server, room, caps_a=(), caps_b=("invite-notify",))
    c = server.client()
    a.send("INVITE %s %s" % (c.nick, room))
    r = a.expect("341")
    assert r.params[1:] == [c.nick, room]
    m = c.expect("INVITE")
    assert m.nick == a.nick and m.params == [c.nick, room]
    n = b.expect("INVITE")
    assert n.nick == a.nick and n.params == [c.nick, room]
    a.send("INVITE %s %s" % (b.nick, room))
    assert a.expect(lambda m: m.command.isdigit()).command == "443"


def test_names_userhost_in_names_and_multi_prefix(server, room):
    a, b = pair(server, room, caps_a=("userhost-in-names", "multi-prefix"), caps_b=())
    a.send("NAMES " + room)
    lines = a.collect("366")
    names = " ".join(m.last for m in lines if m.command == "353").split()
    assert "%s!%s@pchat/user" % (a.nick, a.nick) in names
    assert "%s!%s@pchat/user" % (b.nick, b.nick) in names
    b.send("NAMES " + room)
    lines = b.collect("366")
    names = " ".join(m.last for m in lines if m.command == "353").split()
    assert sorted(names) == sorted([a.nick, b.nick])
    assert lines[0].params[1:3] == ["=", room]


def make_manager(server, room, client):
    """Make client a manager of room (only managers set the description) and
    wait until the running server has applied it (change feed)."""
    server.ctl("room", "set", room[1:], "--managers", "+" + client.nick)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        client.send("NAMES " + room)
        names = client.expect("353").last.split()
        if any(n.lstrip("+").startswith("@" + client.nick) for n in names):
            client.expect("366")
            return
        client.expect("366")
        time.sleep(0.1)
    raise AssertionError("manager role not applied")


def test_topic_set_query_broadcast(server, room):
    a, b = pair(server, room)
    make_manager(server, room, a)
    a.send("TOPIC " + room)
    assert a.expect(lambda m: m.command.isdigit()).command == "331"
    a.send("TOPIC %s :The new topic" % room)
    for c in (a, b):
        m = c.expect("TOPIC")
        assert m.nick == a.nick
        assert m.params == [room, "The new topic"]
    b.send("TOPIC " + room)
    t = b.expect("332")
    assert t.params[1:] == [room, "The new topic"]
    w = b.expect("333")
    assert w.params[1] == room
    assert w.params[2].split("!")[0] == a.nick
    assert int(w.params[3]) > 0
    # a later joiner sees the topic
    c = server.client()
    lines = c.join(room)
    assert any(m.command == "332" and m.last == "The new topic" for m in lines)


def test_list(server, room):
    a, b = pair(server, room)
    make_manager(server, room, a)
    a.send("TOPIC %s :listed topic" % room)
    a.expect("TOPIC")
    b.expect("TOPIC")
    b.send("LIST")
    lines = b.collect("323")
    assert lines[0].command == "321"
    mine = [m for m in lines if m.command == "322" and m.params[1] == room]
    assert len(mine) == 1
    assert mine[0].params[2] == "2"
    assert mine[0].last == "listed topic"
    b.send("LIST " + room)
    lines = b.collect("323")
    assert [m.params[1] for m in lines if m.command == "322"] == [room]


def test_who_and_whox(server, room):
    a, b = pair(server, room)
    a.send("WHO " + room)
    lines = a.collect("315")
    rows = {m.params[5]: m for m in lines if m.command == "352"}
    assert set(rows) == {a.nick, b.nick}
    r = rows[b.nick]
    assert r.params[1:5] == [room, b.nick, "pchat/user", "pchat.test"]
    assert r.params[6].startswith("H")
    assert r.last.startswith("0 ")
    a.send("WHO %s %%tnaf,42" % room)
    lines = a.collect("315")
    rows = [m.params[1:] for m in lines if m.command == "354"]
    assert sorted(rows) == sorted([["42", a.nick, "H", a.nick], ["42", b.nick, "H", b.nick]])


def test_whois(server, room):
    a, b = pair(server, room)
    a.send("WHOIS " + b.nick)
    lines = a.collect("318")
    by = {m.command: m for m in lines}
    assert by["311"].params[1:5] == [b.nick, b.nick, "pchat/user", "*"]
    assert room in by["319"].last.split()
    assert by["330"].params[1:3] == [b.nick, b.nick]
    assert by["318"].params[1] == b.nick
    a.send("WHOIS nosuch" + b.nick)
    assert a.expect(lambda m: m.command.isdigit()).command == "401"


def test_mode_channel_324(server, room):
    a = server.client()
    a.join(room)
    a.send("MODE " + room)
    m = a.expect(lambda m: m.command.isdigit())
    assert m.command == "324"
    assert m.params[1] == room
    assert m.params[2].startswith("+")


def test_bot_mode_and_bot_tag(server, room):
    a, b = pair(server, room, caps_a=("message-tags",), caps_b=())
    b.send("MODE %s +B" % b.nick)
    m = b.expect("MODE")
    assert m.params == [b.nick, "+B"]
    b.send("PRIVMSG %s :beep" % room)
    got = a.expect(is_msg("PRIVMSG", "beep"))
    assert "bot" in got.tags
    a.send("WHOIS " + b.nick)
    lines = a.collect("318")
    assert "335" in [x.command for x in lines]
    a.send("WHO " + room)
    rows = {x.params[5]: x for x in a.collect("315") if x.command == "352"}
    assert "B" in rows[b.nick].params[6]


def test_motd_lusers_version_time(server):
    a = server.client()
    a.send("MOTD")
    lines = a.collect(lambda m: m.command in ("376", "422"))
    assert lines[0].command in ("375", "422")
    a.send("LUSERS")
    lines = a.collect("266")
    cmds = [m.command for m in lines]
    assert cmds[:1] == ["251"] and "255" in cmds
    a.send("VERSION")
    v = a.expect("351")
    assert v.params[1].startswith("pchat-")
    assert v.params[2] == "pchat.test"
    a.send("TIME")
    t = a.expect("391")
    assert t.params[1] == "pchat.test"
    assert TIME_RE.match(t.last) or len(t.last) > 5


def test_join_unknown_403(server):
    a = server.client()
    lines = a.join("#nosuchroomxyz")
    assert lines[-1].command == "403"
    assert lines[-1].params[1] == "#nosuchroomxyz"


def test_privmsg_to_room_not_joined_404(server, room):
    a = server.client()
    a.send("PRIVMSG %s :not in there" % room)
    m = a.expect(lambda m: m.command.isdigit() or m.command == "FAIL")
    assert m.command == "404"
    assert m.params[1] == room


def test_privmsg_unknown_nick_401(server):
    a = server.client()
    a.send("PRIVMSG nobodyhere :hi")
    m = a.expect(lambda m: m.command.isdigit())
    assert m.command == "401"
    assert m.params[1] == "nobodyhere"


def test_part_broadcast(server, room):
    a, b = pair(server, room)
    b.send("PART %s :bye now" % room)
    for c in (a, b):
        m = c.expect("PART")
        assert m.nick == b.nick
        assert m.params == [room, "bye now"]
    b.send("PRIVMSG %s :after part" % room)
    assert b.expect(lambda m: m.command.isdigit()).command == "404"


def test_userhost_and_ison(server):
    a = server.client()
    b = server.client()
    a.send("ISON %s nobody%s" % (b.nick, b.nick))
    assert a.expect("303").last.split() == [b.nick]
    a.send("USERHOST " + b.nick)
    assert a.expect("302").last.startswith(b.nick)


def test_echo_only_after_stored(server, room):
    a = server.client(caps=TAG_CAPS)
    a.join(room)
    ids = []
    for i in range(5):
        a.send("PRIVMSG %s :stored %d" % (room, i))
    for i in range(5):
        ids.append(a.expect(is_msg("PRIVMSG", "stored %d" % i)).tags["msgid"])
    # read the history at once: every echoed message is already committed
    hist = {h["msgid"]: h for h in server.history(room)}
    for i, mid in enumerate(ids):
        assert mid in hist, (mid, list(hist))
        assert hist[mid]["text"] == "stored %d" % i
        assert hist[mid]["sender"] == a.nick


def test_history_replayed_on_join(server, room):
    a = server.client()
    a.join(room)
    a.send("PRIVMSG %s :before you came" % room)
    a.ping("sync")
    b = server.client()
    lines = b.join(room) + b.drain(0.3)
    assert any(m.command == "PRIVMSG" and m.last == "before you came" for m in lines), \
        [m.raw for m in lines]
