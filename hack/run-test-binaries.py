#!/usr/bin/env python3
"""Runs every test binary of the workspace, several at once, and reports like `cargo test`.

`make test` calls this after `cargo test --workspace --no-run` has built them. Why not plain
`cargo test --workspace`: cargo runs one test binary after another, and most of ours spend their
time waiting (on a control plane, on pods, on matches played in real time), so on 2 cores two
binaries side by side finish in little more than the longer one. A second `cargo test` cannot run
beside the first (cargo locks the target directory), so this runs the binaries directly, with
the working directory and `CARGO_*` variables cargo would give them.

Each binary's output goes to a log that is printed whole when it ends (so outputs never
interleave); the longest binaries start first. Exits non-zero if any binary failed.

    hack/run-test-binaries.py [--jobs N] [--real-node-shell 'LABEL=COMMAND']... [-- <arguments for every test binary>]

`--real-node-shell` adds a shell command that uses the real node (`make test` passes the demo's
smoke run): it runs in a lane like a binary, never beside another real-node job, right after the
operator's real-node binary frees the node, so the demo overlaps the other lane instead of
running after both.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

# The binaries known to take longest start first (package/target); the rest follow in build order.
# Two binaries that use the real node (the operator's real_node, local-cluster's real_node) never
# run together (see `pick`), and local-cluster's goes last so it does not hold a lane waiting.
LONGEST_FIRST = [
    "tetris-operator/real_node",
    "tetris-operator/e2e",
    "deploy-tests/deploy",
    "tetris-operator/argocd",
    "tetris-game-server/server",
    "local-cluster/control_plane",
    "local-cluster/real_node",
]


# The target name of the binaries that start the real node (one per machine).
REAL_NODE = "real_node"


def binaries():
    """(package, target, kind, executable, manifest dir) of every test binary, built if needed."""
    out = subprocess.run(
        ["cargo", "test", "--workspace", "--no-run", "--message-format=json-render-diagnostics"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    found = []
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        if not msg.get("profile", {}).get("test"):
            continue
        manifest = os.path.dirname(msg["manifest_path"])
        target = msg["target"]
        found.append((msg["package_id"], target["name"], target["kind"][0], msg["executable"], manifest))
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    found.sort(key=lambda b: rank.get(f"{package_name(b[0])}/{b[1]}", len(rank)))
    return found


def is_real_node(binary):
    """Whether a job uses the machine's one real node: the real_node binaries and the shell jobs."""
    return binary[1] == REAL_NODE or binary[2] == "shell"


def package_name(package_id):
    # "path+file:///repo/operator#tetris-operator@0.1.0" or "path+file:///repo/config#0.1.0"
    tail = package_id.split("#", 1)[-1]
    name = tail.split("@", 1)[0]
    if name[:1].isdigit():  # the name equals the directory's
        name = package_id.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name


def main():
    args = sys.argv[1:]
    jobs = 2
    shells = []
    while args[:1] in (["--jobs"], ["--real-node-shell"]):
        if args[0] == "--jobs":
            jobs = int(args[1])
        else:
            label, _, command = args[1].partition("=")
            shells.append(("shell", label, "shell", command, os.getcwd()))
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    todo = binaries()
    # Shell jobs go right after the first real-node binary (see the module doc).
    at = next((i + 1 for i, b in enumerate(todo) if b[1] == REAL_NODE), 0)
    todo[at:at] = shells
    lock = threading.Lock()
    failed, results = [], []
    start_all = time.monotonic()

    def run(binary):
        package_id, name, kind, exe, manifest = binary
        if kind == "shell":
            label, command, env = name, ["bash", "-c", exe], dict(os.environ)
        else:
            pkg = package_name(package_id)
            label, command = f"{pkg} {kind} {name}", [exe, *args]
            env = dict(os.environ, CARGO_MANIFEST_DIR=manifest, CARGO_PKG_NAME=pkg, CARGO_CRATE_NAME=name.replace("-", "_"))
        with tempfile.TemporaryFile(mode="w+") as log:
            started = time.monotonic()
            code = subprocess.run(command, cwd=manifest, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
            took = time.monotonic() - started
            log.seek(0)
            text = log.read()
        with lock:
            print(f"     Running {label} ({exe})", flush=True)
            sys.stdout.write(text)
            print(f"     {'ok' if code == 0 else 'FAILED'}: {label} in {took:.1f} s", flush=True)
            results.append((label, code, took))
            if code != 0:
                failed.append(label)

    pending = list(todo)
    threads = []

    running = []

    def pick():
        """The next binary to start, or None to wait: one real-node binary at a time (the cleanup
        test checks the host for any run's leftovers, so it must not see another run's node)."""
        for i, binary in enumerate(pending):
            if is_real_node(binary) and any(is_real_node(b) for b in running):
                continue
            return pending.pop(i)
        return None

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                binary = pick()
                if binary is not None:
                    running.append(binary)
            if binary is None:
                time.sleep(1)
                continue
            run(binary)
            with lock:
                running.remove(binary)

    for _ in range(max(1, jobs)):
        t = threading.Thread(target=worker)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    print(f"\ntest binaries: {len(results) - len(failed)} passed, {len(failed)} failed, "
          f"{time.monotonic() - start_all:.0f} s with {jobs} at once")
    for label, code, took in sorted(results, key=lambda r: -r[2])[:8]:
        print(f"  {took:7.1f} s  {label}{'' if code == 0 else '  FAILED'}")
    if failed:
        print("failed: " + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
