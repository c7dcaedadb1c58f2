"""pchatctl changes made while pchatd runs take effect at once:
new accounts can log in, new rooms can be joined, chat-enabled=no applies."""

POOL_USERS = 2
POOL_ROOMS = 0


def test_accounts_added_while_running_can_log_in(server):
    # log in a few times first, so the server's store readers have been used
    results = []
    for i in range(5):
        name, pw = server.add_user(live=True)
        c = server.connect(name=name)
        c.cap_ls()
        c.cap_req(["sasl"])
        c.send("NICK " + name)
        c.send("USER %s 0 * :x" % name)
        results.append((name, c.sasl_plain(name, pw).command))
        c.close()
    assert [r for _, r in results] == ["903"] * 5, results


def test_scram_for_account_added_while_running(server):
    for i in range(3):
        name, pw = server.add_user(live=True)
        c = server.connect(name=name)
        c.cap_ls()
        c.cap_req(["sasl"])
        c.send("NICK " + name)
        c.send("USER %s 0 * :x" % name)
        assert c.sasl_scram(name, pw).command == "903", (i, name)
        c.close()


def test_rooms_added_while_running_can_be_joined_at_once(server):
    a = server.client()
    got = []
    for i in range(4):
        room = server.add_room(live=True)
        got.append((room, a.join(room)[-1].command))
    assert [g for _, g in got] == ["366"] * 4, got


def test_chat_enabled_no_applies_to_running_server(server):
    name, pw = server.add_user()
    server.ctl("user", "set", name, "--chat-enabled", "no")
    c = server.connect()
    c.cap_ls()
    c.cap_req(["sasl"])
    c.send("NICK " + name)
    c.send("USER %s 0 * :x" % name)
    assert c.sasl_plain(name, pw).command == "904"
