"""A real IRC client end to end: irssi (in a detached tmux session) logs in
to pchatd with SASL PLAIN, joins a room and exchanges messages with the
Python test client. irssi's side is read from its log file (autolog) and,
as a fallback, from `tmux capture-pane`."""

import glob
import os
import shutil
import subprocess
import time

import pytest

POOL_USERS = 0
POOL_ROOMS = 0

IRSSI_CONFIG = """
servers = (
  {
    address = "127.0.0.1";
    chatnet = "pchat";
    port = "%(port)d";
    use_tls = "no";
    autoconnect = "yes";
  }
);
chatnets = {
  pchat = {
    type = "IRC";
    sasl_mechanism = "plain";
    sasl_username = "%(user)s";
    sasl_password = "%(password)s";
  };
};
channels = ( { name = "%(room)s"; chatnet = "pchat"; autojoin = "yes"; } );
settings = {
  core = {
    real_name = "Irssi Tester";
    user_name = "%(user)s";
    nick = "%(user)s";
    settings_autosave = "no";
  };
  "fe-common/core" = {
    autolog = "yes";
    autolog_path = "%(home)s/logs/$tag/$0.log";
    autolog_level = "all";
  };
  "fe-text" = { actlist_sort = "refnum"; };
};
"""


def wait_for(pred, timeout=20.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


@pytest.mark.skipif(not (shutil.which("irssi") and shutil.which("tmux")),
                    reason="irssi and tmux are needed")
def test_irssi_sasl_plain_exchange(make_server, tmp_path):
    s = make_server(n_users=2, n_rooms=1)
    room = s.add_room()
    iname, ipw = s.add_user()
    home = tmp_path / "irssi"
    (home / "logs").mkdir(parents=True)
    (home / "config").write_text(IRSSI_CONFIG % {"port": s.port, "user": iname, "password": ipw,
                                                 "room": room, "home": str(home)})
    py = s.client(caps=("message-tags",))
    py.join(room)
    sess = "pchat-itest-%d" % os.getpid()
    sock = str(tmp_path / "tmux.sock")
    tmux = ["tmux", "-S", sock]
    subprocess.run(tmux + ["new-session", "-d", "-s", sess, "-x", "200", "-y", "50",
                           "irssi --home=%s -n %s" % (home, iname)], check=True,
                   env=dict(os.environ, TERM="xterm"))
    try:
        def pane():
            return subprocess.run(tmux + ["capture-pane", "-p", "-t", sess], capture_output=True,
                                  text=True).stdout

        def irssi_text():
            out = pane()
            for f in glob.glob(str(home / "logs" / "*" / "*.log")):
                with open(f, errors="replace") as fh:
                    out += fh.read()
            return out

        # irssi joined the room with SASL (the account name is its nick)
        j = py.expect(lambda m: m.command == "JOIN" and m.nick == iname, timeout=20)
        assert j.params[0] == room
        subprocess.run(tmux + ["send-keys", "-t", sess, "/window goto " + room, "Enter"],
                       check=True)
        assert wait_for(lambda: room in pane(), timeout=10), pane()
        # irssi -> python (typed into the room's window)
        subprocess.run(tmux + ["send-keys", "-t", sess, "hello from irssi", "Enter"], check=True)
        m = py.expect(lambda m: m.command == "PRIVMSG" and m.last == "hello from irssi",
                      timeout=10)
        assert m.nick == iname and m.params[0] == room
        # python -> irssi
        py.send("PRIVMSG %s :hello from python" % room)
        assert wait_for(lambda: "hello from python" in irssi_text(), timeout=10), irssi_text()
        assert py.nick in irssi_text()
    finally:
        subprocess.run(tmux + ["send-keys", "-t", sess, "/quit", "Enter"], capture_output=True)
        wait_for(lambda: subprocess.run(tmux + ["has-session", "-t", sess],
                                        capture_output=True).returncode != 0, timeout=3)
        subprocess.run(tmux + ["kill-server"], capture_output=True)
