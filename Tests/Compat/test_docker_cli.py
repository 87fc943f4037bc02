"""The docker CLI against swiftd, over DOCKER_HOST: each check asserts what docker printed."""

import json
import os
import shutil
import subprocess
import tarfile
import time
import unittest

from harness import Daemon

DOCKER = shutil.which("docker")


@unittest.skipUnless(DOCKER, "the docker CLI is not installed")
@unittest.skipUnless(os.geteuid() == 0, "starting swiftd needs root")
class DockerCLITests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def docker(self, *arguments, stdin=None, check=True):
        environment = dict(os.environ, DOCKER_HOST=self.daemon.host, DOCKER_CONFIG=self.daemon.work)
        result = subprocess.run([DOCKER, *arguments], capture_output=True, text=True, input=stdin,
                                env=environment, timeout=120)
        if check:
            self.assertEqual(result.returncode, 0, "docker %s: %s" % (" ".join(arguments), result.stderr))
        return result

    def test_version_reports_api(self):
        output = self.docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip()
        self.assertEqual(output, "1.45")

    def test_run_prints_output_and_exit_code(self):
        self.assertEqual(self.docker("run", "--rm", "busybox", "echo", "hello").stdout, "hello\n")
        failed = self.docker("run", "--rm", "busybox", "sh", "-c", "exit 3", check=False)
        self.assertEqual(failed.returncode, 3)
        missing = self.docker("run", "--rm", "busybox", "no-such-command", check=False)
        self.assertEqual(missing.returncode, 127)

    def test_container_life_cycle(self):
        created = self.docker("create", "--name", "cli-cycle", "busybox", "sleep", "60").stdout.strip()
        self.assertEqual(len(created), 64)
        self.docker("start", "cli-cycle")
        state = self.docker("inspect", "--format", "{{.State.Status}}", "cli-cycle").stdout.strip()
        self.assertEqual(state, "running")
        listed = self.docker("ps", "--format", "{{.Names}}").stdout.split()
        self.assertIn("cli-cycle", listed)
        self.docker("pause", "cli-cycle")
        self.assertEqual(self.docker("inspect", "-f", "{{.State.Status}}", "cli-cycle").stdout.strip(), "paused")
        self.docker("unpause", "cli-cycle")
        self.docker("kill", "-s", "KILL", "cli-cycle")
        self.assertEqual(self.docker("wait", "cli-cycle").stdout.strip(), "137")
        self.docker("rename", "cli-cycle", "cli-renamed")
        self.docker("rm", "cli-renamed")
        gone = self.docker("inspect", "cli-renamed", check=False)
        self.assertNotEqual(gone.returncode, 0)
        self.assertIn("No such", gone.stderr)

    def test_stop_and_restart(self):
        self.docker("run", "-d", "--name", "cli-stop", "busybox", "sleep", "60")
        self.docker("stop", "-t", "1", "cli-stop")
        self.assertEqual(self.docker("inspect", "-f", "{{.State.Running}}", "cli-stop").stdout.strip(), "false")
        self.docker("restart", "-t", "1", "cli-stop")
        self.assertEqual(self.docker("inspect", "-f", "{{.State.Running}}", "cli-stop").stdout.strip(), "true")
        self.docker("rm", "-f", "cli-stop")

    def test_logs_and_exec(self):
        self.docker("run", "-d", "--name", "cli-logs", "busybox", "sh", "-c", "echo out; echo err >&2; sleep 60")
        self.docker("exec", "cli-logs", "true")
        logs = self.docker("logs", "cli-logs")
        self.assertEqual(logs.stdout, "out\n")
        self.assertEqual(logs.stderr, "err\n")
        executed = self.docker("exec", "-e", "GREETING=hi", "cli-logs", "sh", "-c", "echo $GREETING")
        self.assertEqual(executed.stdout, "hi\n")
        self.docker("rm", "-f", "cli-logs")

    def test_diff_commit_history_export(self):
        self.docker("run", "--name", "cli-diff", "busybox", "sh", "-c", "echo x > /added")
        self.assertIn("A /added", self.docker("diff", "cli-diff").stdout)
        self.docker("commit", "-c", "CMD [\"cat\", \"/added\"]", "cli-diff", "127.0.0.1:5000/cli/committed")
        self.assertEqual(self.docker("run", "--rm", "127.0.0.1:5000/cli/committed").stdout, "x\n")
        history = self.docker("history", "127.0.0.1:5000/cli/committed").stdout
        self.assertEqual(len(history.strip().splitlines()), 3)
        exported = os.path.join(self.daemon.work, "cli-export.tar")
        self.docker("export", "-o", exported, "cli-diff")
        with tarfile.open(exported) as archive:
            self.assertIn("added", [name.lstrip("./") for name in archive.getnames()])
        self.docker("rm", "cli-diff")
        self.docker("rmi", "127.0.0.1:5000/cli/committed")

    def test_cp_both_ways(self):
        self.docker("run", "--name", "cli-cp", "busybox", "sh", "-c", "mkdir /data && echo out > /data/file")
        local = os.path.join(self.daemon.work, "cli-cp")
        os.makedirs(os.path.join(local, "tree"))
        with open(os.path.join(local, "tree", "in"), "w") as handle:
            handle.write("in\n")
        self.docker("cp", "cli-cp:/data", local)
        with open(os.path.join(local, "data", "file")) as handle:
            self.assertEqual(handle.read(), "out\n")
        self.docker("cp", os.path.join(local, "tree"), "cli-cp:/data/copied")
        self.docker("cp", "cli-cp:/data/copied/in", os.path.join(local, "back"))
        with open(os.path.join(local, "back")) as handle:
            self.assertEqual(handle.read(), "in\n")
        missing = self.docker("cp", "cli-cp:/nowhere", local, check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("Could not find the file /nowhere", missing.stderr)
        self.docker("rm", "cli-cp")

    def test_images_tag_save_load_rmi(self):
        self.docker("tag", "busybox", "127.0.0.1:5000/cli/tagged:v1")
        listed = self.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        self.assertIn("127.0.0.1:5000/cli/tagged:v1", listed)
        saved = os.path.join(self.daemon.work, "cli-save.tar")
        self.docker("save", "-o", saved, "127.0.0.1:5000/cli/tagged:v1")
        with tarfile.open(saved) as archive:
            manifest = json.load(archive.extractfile("manifest.json"))
        self.assertEqual(manifest[0]["RepoTags"], ["127.0.0.1:5000/cli/tagged:v1"])
        removed = self.docker("rmi", "127.0.0.1:5000/cli/tagged:v1").stdout
        self.assertIn("Untagged: 127.0.0.1:5000/cli/tagged:v1", removed)
        loaded = self.docker("load", "-i", saved).stdout
        self.assertIn("Loaded image: 127.0.0.1:5000/cli/tagged:v1", loaded)
        self.docker("rmi", "127.0.0.1:5000/cli/tagged:v1")

    def test_import_with_change(self):
        self.docker("import", "-c", "ENV IMPORTED=yes", self.daemon.busybox_tar, "127.0.0.1:5000/cli/imported")
        output = self.docker("run", "--rm", "127.0.0.1:5000/cli/imported", "sh", "-c", "echo $IMPORTED").stdout
        self.assertEqual(output, "yes\n")
        self.docker("rmi", "127.0.0.1:5000/cli/imported")

    def test_events_show_a_run(self):
        self.docker("run", "--rm", "--name", "cli-events", "busybox", "true")
        until = str(int(time.time()) + 1)
        events = self.docker("events", "--since", "0", "--until", until, "--filter", "container=cli-events",
                             "--format", "{{.Action}}").stdout.split()
        for action in ("create", "start", "die", "destroy"):
            self.assertIn(action, events)

    def test_errors_carry_the_daemon_message(self):
        missing = self.docker("inspect", "no-such-container-anywhere", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no-such-container-anywhere", missing.stderr)
        invalid = self.docker("run", "--rm", "Busybox", check=False)
        self.assertEqual(invalid.returncode, 125)
        self.assertIn("invalid reference format", invalid.stderr)


if __name__ == "__main__":
    unittest.main()
