"""More docker CLI commands against swiftd: exec -it, attach, top, port, networks, volumes, stats.

Each check asserts what docker printed. Every container, network and volume gets a unique name
and is removed by a cleanup, also when the test fails.
"""

import os
import re
import shutil
import subprocess
import unittest

from harness import Daemon, free_subnet, read_greeting, run_in_pty, unique_name

DOCKER = shutil.which("docker")


@unittest.skipUnless(DOCKER, "the docker CLI is not installed")
@unittest.skipUnless(os.geteuid() == 0, "starting swiftd needs root")
class DockerCLIMoreTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def environment(self):
        return dict(os.environ, DOCKER_HOST=self.daemon.host, DOCKER_CONFIG=self.daemon.work)

    def docker(self, *arguments, stdin=None, check=True, timeout=120):
        result = subprocess.run([DOCKER, *arguments], capture_output=True, text=True, input=stdin,
                                env=self.environment(), timeout=timeout)
        if check:
            self.assertEqual(result.returncode, 0, "docker %s: %s" % (" ".join(arguments), result.stderr))
        return result

    def container(self, *arguments, name=None):
        """Run a detached container and remove it at cleanup; return its name."""
        name = name or unique_name("cli")
        self.addCleanup(self.docker, "rm", "-f", name, check=False)
        self.docker("run", "-d", "--name", name, *arguments)
        return name

    def test_exec_interactive_tty(self):
        name = self.container("busybox", "sleep", "60")
        command = [DOCKER, "exec", "-it", name, "sh", "-c", "tty; read line; echo got:$line; exit 5"]
        status, output = run_in_pty(command, self.environment(), b"hello\r")
        self.assertEqual(status, 5, output)
        self.assertRegex(output, r"/dev/pts/\d+")
        self.assertIn("got:hello", output)

    def test_attach_pipes_stdin(self):
        name = unique_name("cli-attach")
        self.addCleanup(self.docker, "rm", "-f", name, check=False)
        self.docker("create", "-i", "--name", name, "busybox", "cat")
        self.assertEqual(self.docker("inspect", "-f", "{{.Config.StdinOnce}}", name).stdout.strip(), "true")
        self.docker("start", name)
        attached = self.docker("attach", name, stdin="one\ntwo\n", timeout=30)
        self.assertEqual(attached.stdout, "one\ntwo\n")
        # Closing stdin closed the container's stdin too, so cat ended.
        self.assertEqual(self.docker("wait", name).stdout.strip(), "0")

    def test_top_lists_processes(self):
        name = self.container("busybox", "sleep", "60")
        lines = self.docker("top", name).stdout.splitlines()
        self.assertEqual(lines[0].split()[:2], ["UID", "PID"])
        self.assertTrue(lines[0].rstrip().endswith("CMD"), lines[0])
        self.assertTrue(any(line.endswith("sleep 60") for line in lines[1:]), lines)

    def test_port_publishes_on_loopback(self):
        name = self.container("-p", "127.0.0.1::80", "busybox", "sh", "-c",
                              "while true; do echo from-container | nc -l -p 80; done")
        printed = self.docker("port", name).stdout.strip()
        match = re.fullmatch(r"80/tcp -> 127\.0\.0\.1:(\d+)", printed)
        self.assertIsNotNone(match, printed)
        self.assertEqual(self.docker("port", name, "80").stdout.strip(), "127.0.0.1:" + match.group(1))
        self.assertEqual(read_greeting(int(match.group(1))), b"from-container\n")
        unpublished = self.docker("port", name, "81", check=False)
        self.assertNotEqual(unpublished.returncode, 0)
        self.assertIn("No public port '81", unpublished.stderr)

    def test_network_life_cycle(self):
        network = unique_name("cli-net")
        prefix = free_subnet("10.250")
        self.addCleanup(self.docker, "network", "rm", network, check=False)
        created = self.docker("network", "create", "--subnet", prefix + ".0/24", network).stdout.strip()
        self.assertRegex(created, r"^[0-9a-f]{64}$")
        self.assertIn(network, self.docker("network", "ls", "--format", "{{.Name}}").stdout.split())
        subnet = self.docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", network).stdout
        self.assertEqual(subnet.strip(), prefix + ".0/24")
        self.assertEqual(self.docker("network", "inspect", "-f", "{{.Id}}", network).stdout.strip(), created)

        name = self.container("--network", network, "busybox", "sleep", "60")
        address = self.docker("inspect", "-f", '{{(index .NetworkSettings.Networks "%s").IPAddress}}' % network,
                              name).stdout.strip()
        self.assertTrue(address.startswith(prefix + "."), address)
        self.assertIn("inet %s/24" % address, self.docker("exec", name, "ip", "-4", "addr").stdout)
        members = self.docker("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", network).stdout
        self.assertEqual(members.split(), [name])
        in_use = self.docker("network", "rm", network, check=False)
        self.assertNotEqual(in_use.returncode, 0)
        self.assertIn("has active endpoints", in_use.stderr)

        second = unique_name("cli-net2")
        second_prefix = free_subnet("10.249")
        self.addCleanup(self.docker, "network", "rm", second, check=False)
        self.docker("network", "create", "--subnet", second_prefix + ".0/24", second)
        self.docker("network", "connect", "--alias", "second-alias", second, name)
        joined = self.docker("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
                             name).stdout.split()
        self.assertEqual(sorted(joined), sorted([network, second]))
        self.assertIn("inet %s." % second_prefix, self.docker("exec", name, "ip", "-4", "addr", "show", "eth1").stdout)
        twice = self.docker("network", "connect", second, name, check=False)
        self.assertNotEqual(twice.returncode, 0)
        self.assertIn("already exists in network", twice.stderr)
        self.docker("network", "disconnect", second, name)
        self.assertNotIn("inet %s." % second_prefix, self.docker("exec", name, "ip", "-4", "addr").stdout)
        self.assertEqual(self.docker("network", "rm", second).stdout.strip(), second)

        self.docker("rm", "-f", name)
        self.assertEqual(self.docker("network", "rm", network).stdout.strip(), network)
        self.assertNotIn(network, self.docker("network", "ls", "--format", "{{.Name}}").stdout.split())

    def test_volume_keeps_data(self):
        volume = unique_name("cli-vol")
        self.addCleanup(self.docker, "volume", "rm", "-f", volume, check=False)
        self.assertEqual(self.docker("volume", "create", volume).stdout.strip(), volume)
        self.assertIn(volume, self.docker("volume", "ls", "-q").stdout.split())
        self.assertEqual(self.docker("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", volume).stdout.strip(),
                         volume + " local")
        self.docker("run", "--rm", "-v", volume + ":/data", "busybox", "sh", "-c", "echo kept > /data/file")
        kept = self.docker("run", "--rm", "-v", volume + ":/data", "busybox", "cat", "/data/file").stdout
        self.assertEqual(kept, "kept\n")
        self.assertEqual(self.docker("volume", "rm", volume).stdout.strip(), volume)
        self.assertNotIn(volume, self.docker("volume", "ls", "-q").stdout.split())

    def test_volume_prune_spares_used(self):
        label = unique_name("prune")
        unused, used = unique_name("cli-unused"), unique_name("cli-used")
        for volume in (unused, used):
            self.addCleanup(self.docker, "volume", "rm", "-f", volume, check=False)
            self.docker("volume", "create", "--label", "suite=" + label, volume)
        holder = unique_name("cli-holder")
        self.addCleanup(self.docker, "rm", "-f", holder, check=False)
        self.docker("create", "--name", holder, "-v", used + ":/data", "busybox", "true")
        pruned = self.docker("volume", "prune", "-f", "--all", "--filter", "label=suite=" + label).stdout
        self.assertIn("Deleted Volumes:\n%s\n" % unused, pruned)
        self.assertNotIn(used, pruned)
        self.assertIn("Total reclaimed space:", pruned)
        remaining = self.docker("volume", "ls", "-q", "--filter", "label=suite=" + label).stdout.split()
        self.assertEqual(remaining, [used])

    def test_stats_no_stream(self):
        name = self.container("busybox", "sleep", "60")
        printed = self.docker("stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}",
                              name).stdout.strip()
        fields = printed.split("|")
        self.assertEqual(fields[0], name)
        self.assertRegex(fields[1], r"^\d+\.\d\d%$")
        self.assertRegex(fields[2], r"^\d+(\.\d+)?[KMG]iB / \d+(\.\d+)?[KMGT]iB$")
        self.assertEqual(fields[3], "1")

    def test_wait_prints_exit_code(self):
        name = self.container("busybox", "sh", "-c", "sleep 1; exit 7")
        self.assertEqual(self.docker("wait", name).stdout.strip(), "7")
        self.assertEqual(self.docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip(), "7")

    def test_rename_changes_name(self):
        old, new = unique_name("cli-old"), unique_name("cli-new")
        self.addCleanup(self.docker, "rm", "-f", new, check=False)
        self.container("busybox", "sleep", "60", name=old)
        self.docker("rename", old, new)
        self.assertEqual(self.docker("inspect", "-f", "{{.Name}}", new).stdout.strip(), "/" + new)
        missing = self.docker("inspect", old, check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("No such object: " + old, missing.stderr)
        taken = self.container("busybox", "sleep", "60")
        conflict = self.docker("rename", new, taken, check=False)
        self.assertNotEqual(conflict.returncode, 0)
        self.assertIn("is already in use", conflict.stderr)

    def test_pause_and_unpause(self):
        name = self.container("busybox", "sleep", "60")
        self.assertEqual(self.docker("pause", name).stdout.strip(), name)
        self.assertEqual(self.docker("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", name).stdout.strip(),
                         "paused true")
        paused = self.docker("ps", "--filter", "status=paused", "--format", "{{.Names}}").stdout.split()
        self.assertIn(name, paused)
        self.assertEqual(self.docker("unpause", name).stdout.strip(), name)
        self.assertEqual(self.docker("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", name).stdout.strip(),
                         "running false")
        self.assertEqual(self.docker("exec", name, "echo", "awake").stdout, "awake\n")


    def test_update_memory_and_restart(self):
        name = self.container("busybox", "sleep", "60")
        self.assertEqual(self.docker("update", "--memory", "64m", "--restart",
                                     "on-failure:2", name).stdout.strip(), name)
        self.assertEqual(self.docker("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}",
                                     name).stdout.strip(), "%d on-failure" % (64 << 20))
        too_small = self.docker("update", "--memory", "1k", name, check=False)
        self.assertNotEqual(too_small.returncode, 0)
        self.assertIn("Minimum memory limit", too_small.stderr)


if __name__ == "__main__":
    unittest.main()
