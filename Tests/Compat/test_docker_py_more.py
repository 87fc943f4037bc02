"""More docker-py calls against swiftd: exec with a TTY, attach, top, ports, networks, volumes, stats.

Each check asserts what docker-py returned. Every container, network and volume gets a unique
name and is removed by a cleanup, also when the test fails.
"""

import ipaddress
import os
import socket
import time
import unittest

from harness import Daemon, free_subnet, read_greeting, unique_name

try:
    import docker
    from docker.utils.socket import frames_iter
except ImportError:
    docker = None


@unittest.skipUnless(docker, "docker-py is not installed (pip install docker)")
@unittest.skipUnless(os.geteuid() == 0, "starting swiftd needs root")
class DockerPyMoreTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()
        cls.client = docker.DockerClient(base_url=cls.daemon.host, version="1.45", timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.daemon.close()

    def remove_container(self, name):
        try:
            self.client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass

    def container(self, command, name=None, **options):
        """Run a detached busybox container and remove it at cleanup."""
        name = name or unique_name("py")
        self.addCleanup(self.remove_container, name)
        return self.client.containers.run("busybox", command, detach=True, name=name, **options)

    def test_exec_with_tty(self):
        container = self.container(["sleep", "60"])
        exec_id = self.client.api.exec_create(container.id, ["sh", "-c", "tty; read line; echo got:$line; exit 5"],
                                              stdin=True, tty=True)["Id"]
        connection = self.client.api.exec_start(exec_id, tty=True, socket=True)
        raw = connection._sock
        raw.sendall(b"hello\r")
        output = b""
        raw.settimeout(30)
        while b"got:hello" not in output:
            chunk = raw.recv(4096)
            if not chunk:
                break
            output += chunk
        raw.close()
        # With a TTY the stream is raw: no 8-byte frame headers.
        self.assertRegex(output.decode(errors="replace"), r"/dev/pts/\d+\r\n")
        self.assertIn(b"got:hello", output)
        # The exit status is recorded just after the stream ends, so poll briefly.
        deadline = time.time() + 10
        inspected = self.client.api.exec_inspect(exec_id)
        while inspected["Running"] and time.time() < deadline:
            time.sleep(0.1)
            inspected = self.client.api.exec_inspect(exec_id)
        self.assertFalse(inspected["Running"])
        self.assertEqual(inspected["ExitCode"], 5)
        self.assertTrue(inspected["ProcessConfig"]["tty"])

    def test_attach_socket_pipes_stdin(self):
        name = unique_name("py-attach")
        self.addCleanup(self.remove_container, name)
        container = self.client.containers.create("busybox", ["cat"], name=name, stdin_open=True)
        # docker-py sets StdinOnce for a container that is not detached, so closing our stdin
        # closes cat's.
        self.assertTrue(container.attrs["Config"]["StdinOnce"])
        container.start()
        attached = self.client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stream": 1})
        attached._sock.sendall(b"one\ntwo\n")
        attached._sock.shutdown(socket.SHUT_WR)
        attached._sock.settimeout(30)
        frames = list(frames_iter(attached, tty=False))
        attached.close()
        # Without a TTY each frame names its stream: 1 is stdout.
        self.assertEqual({stream for stream, _ in frames}, {1})
        self.assertEqual(b"".join(data for _, data in frames), b"one\ntwo\n")
        self.assertEqual(container.wait(timeout=30)["StatusCode"], 0)

    def test_top_lists_processes(self):
        container = self.container(["sleep", "60"])
        top = container.top()
        self.assertEqual(top["Titles"][:2], ["UID", "PID"])
        self.assertEqual(top["Titles"][-1], "CMD")
        self.assertIn("sleep 60", [process[-1] for process in top["Processes"]])

    def test_ports_on_loopback(self):
        container = self.container(["sh", "-c", "while true; do echo from-container | nc -l -p 80; done"],
                                   ports={"80/tcp": ("127.0.0.1", None)})
        container.reload()
        bindings = container.ports["80/tcp"]
        self.assertEqual(len(bindings), 1)
        self.assertEqual(bindings[0]["HostIp"], "127.0.0.1")
        port = int(bindings[0]["HostPort"])
        self.assertGreater(port, 0)
        self.assertEqual(self.client.api.port(container.id, 80), bindings)
        self.assertEqual(read_greeting(port), b"from-container\n")

    def test_network_life_cycle(self):
        prefix = free_subnet("10.250")
        name = unique_name("py-net")
        pool = docker.types.IPAMPool(subnet=prefix + ".0/24")
        network = self.client.networks.create(name, driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=[pool]))
        self.addCleanup(self.remove_network, network.id)
        self.assertEqual(network.name, name)
        self.assertIn(network.id, [listed.id for listed in self.client.networks.list(names=[name])])
        self.assertEqual(network.attrs["IPAM"]["Config"][0]["Subnet"], prefix + ".0/24")

        container = self.container(["sleep", "60"], network=name)
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"][name]["IPAddress"]
        self.assertIn(ipaddress.ip_address(address), ipaddress.ip_network(prefix + ".0/24"))
        network.reload()
        self.assertEqual(list(network.attrs["Containers"]), [container.id])
        self.assertIn(b"inet %s/24" % address.encode(), container.exec_run(["ip", "-4", "addr"]).output)
        with self.assertRaises(docker.errors.APIError) as raised:
            network.remove()
        self.assertEqual(raised.exception.status_code, 403)

        second_prefix = free_subnet("10.249")
        second = self.client.networks.create(
            unique_name("py-net2"), driver="bridge",
            ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=second_prefix + ".0/24")]))
        self.addCleanup(self.remove_network, second.id)
        second.connect(container, aliases=["second-alias"])
        container.reload()
        self.assertEqual(sorted(container.attrs["NetworkSettings"]["Networks"]), sorted([name, second.name]))
        self.assertIn(b"inet " + second_prefix.encode() + b".",
                      container.exec_run(["ip", "-4", "addr", "show", "eth1"]).output)
        with self.assertRaises(docker.errors.APIError) as twice:
            second.connect(container)
        self.assertEqual(twice.exception.status_code, 403)
        second.disconnect(container)
        container.reload()
        self.assertEqual(list(container.attrs["NetworkSettings"]["Networks"]), [name])
        second.remove()

        container.remove(force=True)
        network.reload()
        self.assertEqual(network.attrs["Containers"], {})
        network.remove()
        with self.assertRaises(docker.errors.NotFound):
            self.client.networks.get(name)

    def remove_network(self, network_id):
        try:
            self.client.api.remove_network(network_id)
        except docker.errors.NotFound:
            pass

    def remove_volume(self, name):
        try:
            self.client.api.remove_volume(name, force=True)
        except docker.errors.NotFound:
            pass

    def test_volume_keeps_data(self):
        name = unique_name("py-vol")
        self.addCleanup(self.remove_volume, name)
        volume = self.client.volumes.create(name, labels={"suite": "compat"})
        self.assertEqual(volume.name, name)
        self.assertEqual(volume.attrs["Driver"], "local")
        self.assertEqual(volume.attrs["Labels"], {"suite": "compat"})
        self.assertIn(name, [listed.name for listed in self.client.volumes.list()])
        self.assertEqual(self.client.volumes.get(name).attrs["Mountpoint"], volume.attrs["Mountpoint"])
        mounts = {name: {"bind": "/data", "mode": "rw"}}
        self.client.containers.run("busybox", ["sh", "-c", "echo kept > /data/file"], volumes=mounts, remove=True)
        kept = self.client.containers.run("busybox", ["cat", "/data/file"], volumes=mounts, remove=True)
        self.assertEqual(kept, b"kept\n")
        volume.remove()
        with self.assertRaises(docker.errors.NotFound):
            self.client.volumes.get(name)

    def test_volume_prune_spares_used(self):
        label = unique_name("prune")
        unused, used = unique_name("py-unused"), unique_name("py-used")
        for name in (unused, used):
            self.addCleanup(self.remove_volume, name)
            self.client.volumes.create(name, labels={"suite": label})
        holder = unique_name("py-holder")
        self.addCleanup(self.remove_container, holder)
        self.client.containers.create("busybox", ["true"], name=holder, volumes={used: {"bind": "/data"}})
        pruned = self.client.volumes.prune(filters={"label": "suite=" + label, "all": "true"})
        self.assertEqual(pruned["VolumesDeleted"], [unused])
        self.assertIsInstance(pruned["SpaceReclaimed"], int)
        remaining = [volume.name for volume in self.client.volumes.list(filters={"label": "suite=" + label})]
        self.assertEqual(remaining, [used])

    def test_stats_once(self):
        container = self.container(["sleep", "60"])
        stats = container.stats(stream=False)
        self.assertEqual(stats["name"], "/" + container.name)
        self.assertEqual(stats["id"], container.id)
        self.assertGreater(stats["memory_stats"]["usage"], 0)
        self.assertGreater(stats["memory_stats"]["limit"], 0)
        self.assertGreater(stats["cpu_stats"]["cpu_usage"]["total_usage"], 0)
        self.assertEqual(stats["pids_stats"]["current"], 1)

    def test_wait_returns_exit_code(self):
        container = self.container(["sh", "-c", "sleep 1; exit 7"])
        result = container.wait(timeout=30)
        self.assertEqual(result["StatusCode"], 7)
        container.reload()
        self.assertEqual(container.attrs["State"]["ExitCode"], 7)

    def test_rename_changes_name(self):
        old, new = unique_name("py-old"), unique_name("py-new")
        self.addCleanup(self.remove_container, new)
        container = self.container(["sleep", "60"], name=old)
        container.rename(new)
        container.reload()
        self.assertEqual(container.name, new)
        self.assertEqual(self.client.containers.get(new).id, container.id)
        with self.assertRaises(docker.errors.NotFound):
            self.client.containers.get(old)
        taken = self.container(["sleep", "60"])
        with self.assertRaises(docker.errors.APIError) as raised:
            container.rename(taken.name)
        self.assertEqual(raised.exception.status_code, 409)

    def test_pause_and_unpause(self):
        container = self.container(["sleep", "60"])
        container.pause()
        container.reload()
        self.assertEqual(container.status, "paused")
        self.assertTrue(container.attrs["State"]["Paused"])
        paused = self.client.containers.list(filters={"status": "paused", "id": container.id})
        self.assertEqual([listed.id for listed in paused], [container.id])
        container.unpause()
        container.reload()
        self.assertEqual(container.status, "running")
        self.assertFalse(container.attrs["State"]["Paused"])
        self.assertEqual(container.exec_run(["echo", "awake"]).output, b"awake\n")


if __name__ == "__main__":
    unittest.main()
