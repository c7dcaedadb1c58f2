"""The rooms model seen through IRC (SPEC §3): privacy, scope and the
ethical wall, roles and auditoriums, changes made with pchatctl reaching a
running server, categories without history, and CHATHISTORY.

Rooms and accounts are set up with pchatctl (tests/integration/
test_pchatctl_rooms.py covers pchatctl itself); here every assertion is on
what IRC clients see.
"""
import time

import pytest

from conftest import ALL_CAPS, wait_for

POOL_USERS = 0
POOL_ROOMS = 0


@pytest.fixture
def srv(make_server):
    """A server with accounts alice (manager type), bob, carol, dave and a
    category 'eng' allowing alice, bob, carol and denying dave."""
    s = make_server(start=False)
    s.ctl("room", "list")
    for name in ("alice", "bob", "carol", "dave"):
        s.add_user(name, "pw-" + name, live=True)
    s.ctl("category", "add", "eng", "--allowed", "alice,bob,carol,dave", "--denied", "dave")
    s.start()
    return s


def join_result(c, room):
    lines = c.join(room)
    return lines[-1].command


def listed(c, room):
    c.send("LIST")
    lines = c.collect(lambda m: m.command == "323")
    return any(m.command == "322" and m.params[1].lower() == room.lower() for m in lines)


def test_closed_room_members_only_but_visible(srv):
    srv.ctl("room", "add", "plans", "--category", "eng", "--members", "alice")
    alice = srv.client("alice")
    bob = srv.client("bob")
    assert join_result(alice, "#plans") == "366"
    assert join_result(bob, "#plans") == "473"  # found, but members only
    assert listed(bob, "#plans")


def test_secret_room_is_indistinguishable_from_none(srv):
    srv.ctl("room", "add", "hush", "--category", "eng", "--privacy", "secret", "--members",
            "alice")
    alice = srv.client("alice")
    bob = srv.client("bob")
    alice.join("#hush")
    assert join_result(bob, "#hush") == "403"
    assert join_result(bob, "#nosuchroom") == "403"
    assert not listed(bob, "#hush")
    assert listed(alice, "#hush")
    bob.send("WHOIS alice")
    lines = bob.collect(lambda m: m.command == "318")
    assert not any("hush" in " ".join(m.params) for m in lines), lines
    bob.send("MODE #hush")
    bob.expect(lambda m: m.command == "403")
    bob.send("NAMES #hush")
    end = bob.expect(lambda m: m.command in ("353", "366"))
    assert end.command == "366"
    alice.send("MODE #hush")
    m = alice.expect(lambda m: m.command == "324")
    assert "s" in m.params[2] and "i" in m.params[2]


def test_open_room_scope_and_ethical_wall(srv):
    srv.ctl("room", "add", "lounge", "--category", "eng", "--privacy", "open")
    bob = srv.client("bob")
    dave = srv.client("dave")  # allowed, but denied: the wall wins
    assert join_result(bob, "#lounge") == "366"
    assert join_result(dave, "#lounge") == "403"
    assert not listed(dave, "#lounge")


def test_auditorium_presenters_post_others_get_404(srv):
    srv.ctl("room", "add", "keynote", "--category", "eng", "--privacy", "open", "--type",
            "auditorium", "--presenters", "alice")
    alice = srv.client("alice", caps=("echo-message", "multi-prefix"))
    bob = srv.client("bob")
    alice.join("#keynote")
    bob.join("#keynote")
    bob.send("PRIVMSG #keynote :can I talk?")
    bob.expect(lambda m: m.command == "404")
    alice.send("PRIVMSG #keynote :welcome")
    bob.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "welcome")
    alice.send("MODE #keynote")
    assert "m" in alice.expect(lambda m: m.command == "324").params[2]
    alice.send("NAMES #keynote")
    names = alice.expect(lambda m: m.command == "353").params[-1].split()
    assert "+alice" in names and "bob" in names


def test_managers_carry_at_and_only_they_set_the_topic(srv):
    srv.ctl("room", "add", "team", "--category", "eng", "--privacy", "open", "--managers",
            "alice")
    alice = srv.client("alice")
    bob = srv.client("bob")
    alice.join("#team")
    lines = bob.join("#team")
    names = [m for m in lines if m.command == "353"][0].params[-1].split()
    assert "@alice" in names and "bob" in names
    bob.send("TOPIC #team :bob's topic")
    bob.expect(lambda m: m.command == "482")
    alice.send("TOPIC #team :alice's topic")
    m = bob.expect(lambda m: m.command == "TOPIC")
    assert m.params[-1] == "alice's topic"
    assert srv.ctl("room", "show", "team", json_out=True)["description"] == "alice's topic"


def test_pchatctl_changes_reach_the_running_server_within_a_second(srv):
    srv.ctl("room", "add", "ops", "--category", "eng", "--members", "alice,bob")
    alice = srv.client("alice", caps=("multi-prefix",))
    bob = srv.client("bob")
    alice.join("#ops")
    bob.join("#ops")
    alice.drain()

    # A new presenter gets +v.
    t0 = time.monotonic()
    srv.ctl("room", "set", "ops", "--presenters", "+alice")
    m = alice.expect(lambda m: m.command == "MODE" and m.params[0] == "#ops", timeout=3)
    assert m.params[1:] == ["+v", "alice"], m
    assert time.monotonic() - t0 < 1.5

    # A removed member is taken out of the live room.
    srv.ctl("room", "set", "ops", "--members", "-bob")
    k = bob.expect(lambda m: m.command == "KICK", timeout=3)
    assert k.params[:2] == ["#ops", "bob"]
    alice.expect(lambda m: m.command == "KICK" and m.params[1] == "bob")

    # A disabled room empties and disappears from listings.
    srv.ctl("room", "set", "ops", "--disabled", "yes")
    alice.expect(lambda m: m.command == "KICK" and m.params[1] == "alice", timeout=3)
    wait_for(lambda: not listed(alice, "#ops"), what="disabled room gone from LIST")
    assert join_result(alice, "#ops") == "403"

    # Re-enabled, it is back.
    srv.ctl("room", "set", "ops", "--disabled", "no")
    wait_for(lambda: listed(alice, "#ops"), what="room back in LIST")


def test_new_room_and_new_category_seen_at_once(srv):
    bob = srv.client("bob")
    srv.ctl("category", "add", "ops2", "--allowed", "bob")
    srv.ctl("room", "add", "fresh", "--category", "ops2", "--privacy", "open")
    assert join_result(bob, "#fresh") == "366"


def test_history_off_category_delivers_but_keeps_nothing(srv):
    srv.ctl("category", "add", "ephemeral", "--allowed", "*", "--history", "off")
    srv.ctl("room", "add", "chatter", "--category", "ephemeral", "--privacy", "open")
    alice = srv.client("alice", caps=("echo-message",))
    bob = srv.client("bob")
    alice.join("#chatter")
    bob.join("#chatter")
    alice.send("PRIVMSG #chatter :gone with the wind")
    alice.expect(lambda m: m.command == "PRIVMSG")
    bob.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "gone with the wind")
    assert srv.history("chatter") == []


# --- CHATHISTORY -------------------------------------------------------------------------

CH_CAPS = ("draft/chathistory", "batch", "server-time", "message-tags", "echo-message")


def history_batch(c, line):
    c.send(line)
    lines = c.collect(lambda m: (m.command == "BATCH" and m.params[0].startswith("-")) or
                      m.command == "FAIL")
    return lines


def texts(lines):
    """Texts of the messages inside the history batch."""
    return [m.params[-1] for m in lines if m.command == "PRIVMSG" and "batch" in m.tags]


@pytest.fixture
def talk(srv):
    srv.ctl("room", "add", "log", "--category", "eng", "--privacy", "open")
    alice = srv.client("alice", caps=CH_CAPS)
    alice.join("#log")
    ids = []
    for i in range(10):
        alice.send("PRIVMSG #log :m%d" % i)
        m = alice.expect(lambda m: m.command == "PRIVMSG")
        ids.append(m.tags["msgid"])
    return srv, alice, ids


def test_chathistory_isupport_and_no_replay_with_the_cap(talk):
    srv, alice, ids = talk
    assert alice.isupport.get("CHATHISTORY") == "1000"
    assert "msgid" in alice.isupport.get("MSGREFTYPES", "")
    bob = srv.client("bob", caps=CH_CAPS)
    lines = bob.join("#log")
    bob2 = srv.client("carol")
    bob2.join("#log")
    replayed = bob2.collect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "m9")
    assert replayed[-1].params[-1] == "m9"  # no chathistory: replayed on join
    bob.expect_nothing(lambda m: m.command == "PRIVMSG", timeout=0.5)
    assert not texts(lines)


def test_chathistory_subcommands(talk):
    srv, alice, ids = talk
    lines = history_batch(alice, "CHATHISTORY LATEST #log * 3")
    start = lines[0]
    assert start.command == "BATCH" and start.params[1] == "chathistory"
    assert start.params[2] == "#log"
    assert texts(lines) == ["m7", "m8", "m9"]
    assert all(m.tags.get("batch") == start.params[0][1:] for m in lines
               if m.command == "PRIVMSG")
    assert texts(history_batch(alice, "CHATHISTORY BEFORE #log msgid=%s 2" % ids[5])) == \
        ["m3", "m4"]
    assert texts(history_batch(alice, "CHATHISTORY AFTER #log msgid=%s 2" % ids[5])) == \
        ["m6", "m7"]
    assert texts(history_batch(alice, "CHATHISTORY LATEST #log msgid=%s 10" % ids[7])) == \
        ["m8", "m9"]
    around = texts(history_batch(alice, "CHATHISTORY AROUND #log msgid=%s 3" % ids[5]))
    assert "m5" in around and len(around) == 3
    assert texts(history_batch(alice, "CHATHISTORY BETWEEN #log msgid=%s msgid=%s 10" %
                               (ids[2], ids[6]))) == ["m3", "m4", "m5"]
    tlines = history_batch(alice, "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
                                  "timestamp=2100-01-01T00:00:00.000Z 10")
    assert any(m.command == "CHATHISTORY" and m.params[1] == "#log" for m in tlines), tlines


def test_chathistory_bad_input(talk):
    srv, alice, ids = talk
    for line in ("CHATHISTORY LATEST #log bogus 10", "CHATHISTORY LATEST #log * 0",
                 "CHATHISTORY LATEST #log * 5000", "CHATHISTORY BEFORE #log * 10",
                 "CHATHISTORY BEFORE #log timestamp=yesterday 10", "CHATHISTORY FROB #log * 1"):
        alice.send(line)
        m = alice.expect(lambda m: m.command == "FAIL")
        assert m.params[:2] == ["CHATHISTORY", "INVALID_PARAMS"], (line, m)
    srv.ctl("room", "add", "vault", "--category", "eng", "--privacy", "secret", "--members",
            "carol")
    for target in ("#vault", "#nosuch"):
        alice.send("CHATHISTORY LATEST %s * 10" % target)
        m = alice.expect(lambda m: m.command == "FAIL")
        assert m.params[1] == "INVALID_TARGET" and m.params[3] == target, m
    assert alice.ping()


def test_private_history(talk):
    srv, alice, ids = talk
    bob = srv.client("bob", caps=CH_CAPS)
    alice.send("PRIVMSG bob :hello bob")
    bob.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "hello bob")
    bob.send("PRIVMSG alice :hi alice")
    alice.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "hi alice")
    lines = history_batch(bob, "CHATHISTORY LATEST alice * 10")
    msgs = [m for m in lines if m.command == "PRIVMSG" and "batch" in m.tags]
    assert [m.params[-1] for m in msgs] == ["hello bob", "hi alice"]
    assert msgs[0].params[0] == "bob" and msgs[1].params[0] == "alice"


# --- the pchat service -------------------------------------------------------------------

def service(c, line, until=None):
    """Send a service command; return the service's NOTICE texts up to `until` (a word)."""
    c.send("PRIVMSG pchat :" + line)
    got = []
    while True:
        m = c.expect(lambda m: m.command == "NOTICE" and m.nick == "pchat")
        got.append(m.params[-1])
        if until is None or until in m.params[-1]:
            return got


def test_service_create_manage_and_follow(srv):
    srv.ctl("category", "set", "eng", "--creators", "alice")
    alice = srv.client("alice", caps=("multi-prefix",))
    bob = srv.client("bob")
    time.sleep(1.2)  # the change feed applies the new creators within a second
    assert "Refused" in service(bob, "create #bobroom category=eng")[0]
    assert "created" in service(alice, "create #newroom category=eng privacy=closed")[0]
    wait_for(lambda: join_result(alice, "#newroom") == "366", what="room created")
    assert join_result(bob, "#newroom") == "473"

    assert "updated" in service(alice, "members add #newroom bob")[0]
    wait_for(lambda: join_result(bob, "#newroom") == "366", what="bob now a member")
    assert "Refused" in service(bob, "set #newroom description hijacked")[0]
    assert "changed" in service(alice, "set #newroom description Plans for the launch")[0]
    bob.expect(lambda m: m.command == "TOPIC" and m.params[-1] == "Plans for the launch",
               timeout=3)
    info = service(alice, "info #newroom", until="presenters")
    assert any("Plans for the launch" in t for t in info)
    assert any("managers: alice" in t for t in info)
    assert "Unknown" in service(alice, "frobnicate")[0]
    assert any("No such room" in t for t in service(bob, "info #nosuchroom"))

    # Followed rooms are joined at every login.
    assert "Following" in service(bob, "follow #newroom")[0]
    assert "#newroom" in service(bob, "following")[0]
    bob.close()
    bob2 = srv.connect(name="bob2")
    bob2.register("bob", srv.passwords["bob"])
    bob2.expect(lambda m: m.command == "JOIN" and m.params[0] == "#newroom", timeout=5)


def test_large_room_stops_join_part_broadcasts(make_server):
    s = make_server(start=False, extra="[chat]\nparticipant_update_limit = 3\n")
    s.ctl("room", "list")
    users = [s.add_user("p%d" % i, "pw-p%d" % i, live=True) for i in range(5)]
    s.ctl("room", "add", "big", "--privacy", "open")
    s.start()
    first = s.client("p0")
    first.join("#big")
    others = []
    for i in range(1, 5):
        c = s.client("p%d" % i)
        c.join("#big")
        others.append(c)
    seen = [m.nick for m in first.drain(0.5) if m.command == "JOIN"]
    assert seen == ["p1", "p2"], seen  # 4 and 5 present: above the limit of 3
    others[-1].send("PART #big")
    others[-1].expect(lambda m: m.command == "PART")
    first.expect_nothing(lambda m: m.command == "PART", timeout=0.5)


def test_mode_by_managers_maps_to_roles(srv):
    srv.ctl("room", "add", "crew", "--category", "eng", "--privacy", "open", "--managers",
            "alice")
    alice = srv.client("alice", caps=("multi-prefix",))
    bob = srv.client("bob")
    alice.join("#crew")
    bob.join("#crew")
    bob.send("MODE #crew +o bob")
    bob.expect(lambda m: m.command == "482")
    alice.send("MODE #crew +v bob")
    m = bob.expect(lambda m: m.command == "MODE" and m.params[0] == "#crew", timeout=3)
    assert m.params[1:] == ["+v", "bob"]
    assert "bob" in srv.ctl("room", "show", "crew", json_out=True)["presenters"]
    alice.send("MODE #crew +m")
    m = bob.expect(lambda m: m.command == "MODE" and m.params[0] == "#crew", timeout=3)
    assert m.params[1] == "+m"
    assert srv.ctl("room", "show", "crew", json_out=True)["type"] == "auditorium"
    alice.send("MODE #crew +q")
    alice.expect(lambda m: m.command == "472")


def test_join_creates_a_room_for_creators_of_the_default_category(srv):
    srv.ctl("category", "set", "general", "--creators", "alice")
    time.sleep(1.2)  # applied through the change feed
    alice = srv.client("alice", caps=("multi-prefix",))
    bob = srv.client("bob")
    assert join_result(bob, "#brandnew") == "403"
    lines = alice.join("#brandnew")
    assert lines[-1].command == "366"
    names = [m for m in lines if m.command == "353"][0].params[-1].split()
    assert "@alice" in names
    assert srv.ctl("room", "show", "brandnew", json_out=True)["managers"] == ["alice"]


SEARCH_CAPS = ("soju.im/search", "batch", "server-time", "message-tags", "echo-message")


def search(c, attrs):
    c.send("SEARCH " + attrs)
    return c.collect(lambda m: (m.command == "BATCH" and m.params[0].startswith("-")) or
                     m.command == "FAIL")


def test_search_scope_words_phrase_case_and_more(srv):
    srv.ctl("room", "add", "pub", "--category", "eng", "--privacy", "open")
    srv.ctl("room", "add", "priv", "--category", "eng", "--privacy", "secret", "--members",
            "alice")
    alice = srv.client("alice", caps=SEARCH_CAPS)
    bob = srv.client("bob", caps=SEARCH_CAPS)
    alice.join("#pub")
    alice.join("#priv")
    for room, text in (("#pub", "The Release is Friday"), ("#pub", "release notes drafted"),
                       ("#priv", "secret release plan"), ("#pub", "lunch at noon")):
        alice.send("PRIVMSG %s :%s" % (room, text))
        alice.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == text)
    # Indexing runs between commits: the newest messages are searchable a moment later.
    deadline = time.monotonic() + 5
    while True:
        got = [m.params[-1] for m in search(alice, "text=release") if m.command == "PRIVMSG"]
        if len(got) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got == ["secret release plan", "release notes drafted", "The Release is Friday"]
    got = [m.params[-1] for m in search(bob, "text=release") if m.command == "PRIVMSG"]
    assert got == ["release notes drafted", "The Release is Friday"]  # never the secret room
    got = [m.params[-1] for m in search(alice, "text=Release;case=sensitive")
           if m.command == "PRIVMSG"]
    assert got == ["The Release is Friday"]
    got = [m.params[-1] for m in search(alice, r"text=notes\sdrafted;match=exact")
           if m.command == "PRIVMSG"]
    assert got == ["release notes drafted"]
    got = [m.params[-1] for m in search(alice, r"text=lunch\sfriday;match=any;in=#pub")
           if m.command == "PRIVMSG"]
    assert got == ["lunch at noon", "The Release is Friday"]
    alice.send("SEARCH text=release;limit=1")
    alice.expect(lambda m: m.command == "NOTE" and m.params[:2] == ["SEARCH", "MORE_RESULTS"])
    for bad in ("limit=0;text=a", "after=yesterday", "in=#priv;text=x", "bogus=1", ""):
        c = alice if bad != "in=#priv;text=x" else bob
        c.send("SEARCH " + (bad or "limit=5"))
        m = c.expect(lambda m: m.command == "FAIL")
        assert m.params[:2] == ["SEARCH", "INVALID_PARAMS"], (bad, m)
    notes = service(bob, "search release", until="result")
    assert any("release notes drafted" in t for t in notes)
    assert not any("secret" in t for t in notes)


def test_invitations_online_and_kept_for_offline_members(srv):
    srv.ctl("room", "add", "inv", "--category", "eng", "--members", "alice", "--managers",
            "alice")
    alice = srv.client("alice", caps=("invite-notify",))
    bob = srv.client("bob")
    alice.join("#inv")
    assert "updated" in service(alice, "members add #inv bob carol")[0]
    m = bob.expect(lambda m: m.command == "INVITE", timeout=3)
    assert m.params == ["bob", "#inv"]
    alice.expect(lambda m: m.command == "INVITE" and m.params == ["bob", "#inv"])
    # carol was offline: the invitation waits for her next login, once.
    carol = srv.connect(name="carol")
    carol.register("carol", srv.passwords["carol"])
    m = carol.expect(lambda m: m.command == "INVITE", timeout=3)
    assert m.params == ["carol", "#inv"]
    carol.close()
    carol2 = srv.connect(name="carol2")
    carol2.register("carol", srv.passwords["carol"])
    carol2.expect_nothing(lambda m: m.command == "INVITE", timeout=1.0)
    # Invitations off for the room: nobody is invited.
    srv.ctl("room", "set", "inv", "--invitations", "off")
    time.sleep(1.0)
    service(alice, "members add #inv dave")
    assert join_result(bob, "#inv") == "366"


def test_redaction_by_administrators_only(srv):
    srv.ctl("room", "add", "red", "--category", "eng", "--privacy", "open")
    srv.ctl("category", "set", "eng", "--allowed", "+admin")
    admin_pw = open(srv.data_dir + "/admin.password").read().strip()
    caps = ("draft/message-redaction", "echo-message", "message-tags")
    alice = srv.client("alice", caps=caps)
    bob = srv.client("bob", caps=caps)
    time.sleep(1.0)
    admin = srv.connect(name="admin")
    admin.register("admin", admin_pw, caps=caps)
    for c in (alice, bob, admin):
        c.join("#red")
    alice.send("PRIVMSG #red :oops, a password")
    mid = alice.expect(lambda m: m.command == "PRIVMSG").tags["msgid"]
    bob.expect(lambda m: m.command == "PRIVMSG")
    bob.send("REDACT #red %s :spam" % mid)
    f = bob.expect(lambda m: m.command == "FAIL")
    assert f.params[:2] == ["REDACT", "REDACT_FORBIDDEN"]
    admin.send("REDACT #red %s" % mid)
    for c in (alice, bob):
        r = c.expect(lambda m: m.command == "REDACT", timeout=3)
        assert r.params[:2] == ["#red", mid]
    assert "oops, a password" not in [h["text"] for h in srv.history("red")]
    # pchatctl content administration reaches live clients the same way
    alice.send("PRIVMSG #red :second slip")
    mid2 = alice.expect(lambda m: m.command == "PRIVMSG").tags["msgid"]
    srv.ctl("message", "remove", "--room", "red", "--text", "slip")
    r = bob.expect(lambda m: m.command == "REDACT", timeout=3)
    assert r.params[1] == mid2


def test_read_markers_shared_by_devices_and_forward_only(srv):
    srv.ctl("room", "add", "rm", "--category", "eng", "--privacy", "open")
    caps = ("draft/read-marker", "server-time")
    phone = srv.client("alice", caps=caps)
    laptop = srv.connect(name="laptop")
    laptop.register("alice", srv.passwords["alice"], caps=caps)
    lines = phone.join("#rm")
    m = phone.expect(lambda m: m.command == "MARKREAD")
    assert m.params == ["#rm", "*"]
    phone.send("MARKREAD #rm timestamp=2026-01-02T03:04:05.678Z")
    for c in (phone, laptop):
        m = c.expect(lambda m: m.command == "MARKREAD" and m.params[1] != "*", timeout=3)
        assert m.params == ["#rm", "timestamp=2026-01-02T03:04:05.678Z"]
    phone.send("MARKREAD #rm timestamp=2025-01-01T00:00:00.000Z")  # older: stays
    m = phone.expect(lambda m: m.command == "MARKREAD")
    assert m.params[1] == "timestamp=2026-01-02T03:04:05.678Z"
    laptop.send("MARKREAD #rm")
    m = laptop.expect(lambda m: m.command == "MARKREAD")
    assert m.params[1] == "timestamp=2026-01-02T03:04:05.678Z"
    phone.send("MARKREAD #rm timestamp=bogus")
    assert phone.expect(lambda m: m.command == "FAIL").params[:2] == ["MARKREAD", "INVALID_PARAMS"]
    phone.send("MARKREAD #nosuch")
    assert phone.expect(lambda m: m.command == "FAIL").params[:2] == ["MARKREAD", "INVALID_TARGET"]


def test_alerts_are_kept_and_replayed(talk):
    srv, alice, ids = talk
    bob = srv.client("bob", caps=CH_CAPS)
    bob.join("#log")
    alice.send("@+pchat/alert=high PRIVMSG #log :Site down")
    m = bob.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "Site down")
    assert m.tags.get("+pchat/alert") == "high"
    lines = history_batch(bob, "CHATHISTORY LATEST #log * 1")
    got = [m for m in lines if m.command == "PRIVMSG" and "batch" in m.tags]
    assert got[0].params[-1] == "Site down" and got[0].tags.get("+pchat/alert") == "high"


def test_event_playback(srv):
    srv.ctl("room", "add", "ev", "--category", "eng", "--privacy", "open", "--managers",
            "alice")
    alice = srv.client("alice", caps=CH_CAPS + ("draft/event-playback",))
    bob = srv.client("bob")
    alice.join("#ev")
    bob.join("#ev")
    alice.send("TOPIC #ev :events ahead")
    alice.expect(lambda m: m.command == "TOPIC")
    alice.send("MODE #ev +v bob")
    alice.expect(lambda m: m.command == "MODE" and m.params[0] == "#ev", timeout=3)
    bob.send("PART #ev :bye now")
    alice.expect(lambda m: m.command == "PART")
    time.sleep(0.3)
    lines = history_batch(alice, "CHATHISTORY LATEST #ev * 20")
    ev = [(m.command, m.params) for m in lines if "batch" in m.tags]
    cmds = [c for c, _ in ev]
    assert cmds.count("JOIN") == 2, ev
    assert ("TOPIC", ["#ev", "events ahead"]) in ev
    assert ("MODE", ["#ev", "+v", "bob"]) in ev
    assert ("PART", ["#ev", "bye now"]) in ev
    # Without event-playback: messages only.
    carol = srv.client("carol", caps=CH_CAPS)
    lines = history_batch(carol, "CHATHISTORY LATEST #ev * 20")
    assert not [m for m in lines if "batch" in m.tags and m.command != "PRIVMSG"]


def test_service_bad_input(srv):
    alice = srv.client("alice")
    srv.ctl("room", "add", "svc", "--category", "eng", "--privacy", "open")
    time.sleep(1.0)  # the running server learns of it through the change feed
    for line, want in (("create", "Usage"), ("create nohash", "Usage"),
                       ("create #x category=nosuchcat", "Refused"),
                       ("create #y privacy=weird", "privacy"),
                       ("create #z colour=blue", "Unknown option"),
                       ("set #svc", "Usage"), ("set #svc colour red", "Unknown setting"),
                       ("members add #svc", "Usage"), ("members frob #svc", "Usage"),
                       ("info", "No such room"), ("follow", "Usage"),
                       ("search", "Usage")):
        got = service(alice, line)
        assert any(want in t for t in got), (line, got)
    assert alice.ping()


def test_every_echoed_message_survives_kill9_through_chathistory(srv):
    srv.ctl("room", "add", "durable", "--category", "eng", "--privacy", "open")
    senders = [srv.client(n, caps=CH_CAPS) for n in ("alice", "bob", "carol")]
    for c in senders:
        c.join("#durable")
    for i in range(60):
        for k, c in enumerate(senders):
            c.send("PRIVMSG #durable :burst %d-%d" % (k, i))
    seen = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and len(seen) < 60:
        for c in senders:
            for m in c.drain(0.05):
                if m.command == "PRIVMSG" and "msgid" in m.tags:
                    seen.add(m.tags["msgid"])
    srv.kill9_keep_clients()
    for c in senders:
        for m in c.drain(0.2):
            if m.command == "PRIVMSG" and "msgid" in m.tags:
                seen.add(m.tags["msgid"])
    assert seen, "nothing was echoed or delivered before the kill"
    srv.start()
    reader = srv.client("alice", caps=CH_CAPS)
    lines = history_batch(reader, "CHATHISTORY LATEST #durable * 1000")
    stored = {m.tags["msgid"] for m in lines if m.command == "PRIVMSG" and "batch" in m.tags}
    assert seen <= stored, "lost after kill -9: %r" % (seen - stored)


def test_limits_count_messages_not_events(talk):
    srv, alice, ids = talk
    for _ in range(3):  # JOIN/PART events after the last message
        bob = srv.client("bob")
        bob.join("#log")
        bob.send("PART #log")
        bob.expect(lambda m: m.command == "PART")
        bob.close()
    assert texts(history_batch(alice, "CHATHISTORY LATEST #log * 3")) == ["m7", "m8", "m9"]
    carol = srv.client("carol")
    carol.join("#log")
    replay = carol.collect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "m9")
    assert [m.params[-1] for m in replay if m.command == "PRIVMSG"][-3:] == ["m7", "m8", "m9"]
