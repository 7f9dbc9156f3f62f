"""The node's JVM as an operating-system process: spawn it detached, find it again by pid file, stop it.

The node outlives the command that started it (``python -m es_local start`` returns at once), so its pid is
kept in ``<home>/node.pid``. A pid file alone can lie after a reboot or a crash, so a pid is trusted only
while ``/proc/<pid>/cmdline`` still shows this node's main class and home folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from es_local.build import CONFIG_DIR
from es_local.jvm import is_node_command_line
from es_local.options import NodeOptions

PID_FILE_NAME = "node.pid"
KILL_WAIT_S = 10.0

# Children started by this Python process, kept so they are reaped (a zombie would look alive to kill(pid, 0)).
_children: dict[int, subprocess.Popen[bytes]] = {}


def pid_file(options: NodeOptions) -> Path:
    return options.home / PID_FILE_NAME


def log_file(options: NodeOptions) -> Path:
    return options.home / "logs" / "node.log"


def spawn(command: list[str], options: NodeOptions) -> int:
    """Start the node's JVM in its own session (Ctrl-C in the caller's terminal does not reach it)."""
    home = options.home
    for folder in (home / "logs", home / "tmp", home / "config"):
        folder.mkdir(parents=True, exist_ok=True)
    # The node reads its logging setup from its own config folder: a fresh copy, so edits in the repo apply.
    for source in CONFIG_DIR.iterdir():
        if source.is_file():
            shutil.copyfile(source, home / "config" / source.name)
    with open(log_file(options), "wb") as log:
        child = subprocess.Popen(
            command,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _children[child.pid] = child
    pid_file(options).write_text(f"{child.pid}\n", encoding="utf-8")
    return child.pid


def recorded_pid(options: NodeOptions) -> int | None:
    """The pid of this home's running node, or None; a stale pid file is removed on the way."""
    path = pid_file(options)
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None
    if is_alive(pid) and _belongs_to_node(pid, options):
        return pid
    path.unlink(missing_ok=True)
    return None


def is_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def exit_code(pid: int) -> int | None:
    """The exit code of a node this process started and that has exited, else None."""
    child = _children.get(pid)
    return None if child is None else child.poll()


def terminate(pid: int, options: NodeOptions, timeout_s: float) -> None:
    """SIGTERM (the node closes its shards cleanly), then SIGKILL if it is still there after ``timeout_s``."""
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, KILL_WAIT_S)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        if _wait_gone(pid, wait_s):
            break
    _children.pop(pid, None)
    if recorded_pid(options) is None:
        pid_file(options).unlink(missing_ok=True)


def log_tail(options: NodeOptions, lines: int = 30) -> str:
    try:
        text = log_file(options).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no node log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.2)
    return not is_alive(pid)


def _belongs_to_node(pid: int, options: NodeOptions) -> bool:
    if not Path("/proc/self").exists():
        return True  # no /proc on this system: trust the pid file
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return is_node_command_line(raw.decode(errors="replace").split("\0"), options)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may itself contain spaces.
    return stat.rpartition(")")[2].split()[0] == "Z"
