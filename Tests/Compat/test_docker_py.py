"""docker-py (the `docker` package from PyPI) against swiftd: each check asserts what it returned."""

import io
import os
import tarfile
import time
import unittest

from harness import Daemon

try:
    import docker
except ImportError:
    docker = None


@unittest.skipUnless(docker, "docker-py is not installed (pip install docker)")
@unittest.skipUnless(os.geteuid() == 0, "starting swiftd needs root")
class DockerPyTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()
        cls.client = docker.DockerClient(base_url=cls.daemon.host, version="1.45", timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.daemon.close()

    def test_ping_and_version(self):
        self.assertTrue(self.client.ping())
        version = self.client.version()
        self.assertEqual(version["ApiVersion"], "1.45")
        self.assertEqual(version["MinAPIVersion"], "1.24")
        self.assertEqual(version["Os"], "linux")

    def test_run_returns_output(self):
        output = self.client.containers.run("busybox", ["echo", "from", "docker-py"], remove=True)
        self.assertEqual(output, b"from docker-py\n")

    def test_run_failure_raises_container_error(self):
        with self.assertRaises(docker.errors.ContainerError) as raised:
            self.client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 4"], remove=True)
        self.assertEqual(raised.exception.exit_status, 4)

    def test_detached_container_life_cycle(self):
        container = self.client.containers.run("busybox", ["sleep", "60"], detach=True, name="py-cycle",
                                               environment={"MODE": "test"}, labels={"suite": "compat"})
        unlabelled = self.client.containers.run("busybox", ["sleep", "60"], detach=True)
        try:
            container.reload()
            self.assertEqual(container.status, "running")
            self.assertEqual(container.name, "py-cycle")
            self.assertIn("MODE=test", container.attrs["Config"]["Env"])
            self.assertEqual(container.labels, {"suite": "compat"})
            listed = self.client.containers.list(filters={"label": "suite=compat"})
            self.assertEqual([c.id for c in listed], [container.id])
            result = container.exec_run(["sh", "-c", "echo $MODE"])
            self.assertEqual(result.exit_code, 0)
            self.assertEqual(result.output, b"test\n")
            container.pause()
            container.reload()
            self.assertEqual(container.status, "paused")
            container.unpause()
            container.stop(timeout=1)
            self.assertEqual(container.wait()["StatusCode"], 137)
            container.reload()
            self.assertEqual(container.status, "exited")
        finally:
            container.remove(force=True)
            unlabelled.remove(force=True)
        with self.assertRaises(docker.errors.NotFound):
            self.client.containers.get("py-cycle")

    def test_logs_with_timestamps(self):
        container = self.client.containers.run("busybox", ["sh", "-c", "echo one; echo two"], detach=True)
        try:
            self.assertEqual(container.wait()["StatusCode"], 0)
            self.assertEqual(container.logs(), b"one\ntwo\n")
            stamped = container.logs(timestamps=True).decode().splitlines()
            self.assertEqual(len(stamped), 2)
            self.assertTrue(stamped[0].endswith(" one"))
            self.assertEqual(container.logs(tail=1), b"two\n")
        finally:
            container.remove()

    def test_images_tag_history_and_remove(self):
        image = self.client.images.get("busybox")
        self.assertIn("busybox:latest", image.tags)
        self.assertTrue(image.tag("127.0.0.1:5000/py/tagged", "v2"))
        image.reload()
        self.assertIn("127.0.0.1:5000/py/tagged:v2", image.tags)
        self.assertEqual(len(image.history()), 1)
        names = [tag for listed in self.client.images.list() for tag in listed.tags]
        self.assertIn("127.0.0.1:5000/py/tagged:v2", names)
        self.client.images.remove("127.0.0.1:5000/py/tagged:v2")
        with self.assertRaises(docker.errors.ImageNotFound):
            self.client.images.get("127.0.0.1:5000/py/tagged:v2")

    def test_save_and_load(self):
        chunks = self.client.images.get("busybox").save(named=True)
        archive = b"".join(chunks)
        with tarfile.open(fileobj=io.BytesIO(archive)) as saved:
            self.assertIn("manifest.json", saved.getnames())
        loaded = self.client.images.load(archive)
        self.assertEqual([image.tags for image in loaded], [["busybox:latest"]])

    def test_import_commit_diff_export(self):
        with open(self.daemon.busybox_tar, "rb") as source:
            self.client.api.import_image_from_data(source.read(), repository="127.0.0.1:5000/py/imported",
                                                   changes=["ENV IMPORTED=1"])
        imported = self.client.images.get("127.0.0.1:5000/py/imported")
        self.assertIn("IMPORTED=1", imported.attrs["Config"]["Env"])

        container = self.client.containers.run("127.0.0.1:5000/py/imported", ["sh", "-c", "echo x > /made"],
                                               detach=True)
        try:
            container.wait()
            self.assertIn({"Path": "/made", "Kind": 1}, container.diff())
            committed = container.commit(repository="127.0.0.1:5000/py/committed", message="compat")
            self.assertEqual(committed.history()[0]["Comment"], "compat")
            exported = b"".join(container.export())
            with tarfile.open(fileobj=io.BytesIO(exported)) as archive:
                self.assertIn("made", [name.lstrip("./") for name in archive.getnames()])
        finally:
            container.remove()
        self.client.images.remove("127.0.0.1:5000/py/committed")
        self.client.images.remove("127.0.0.1:5000/py/imported")

    def test_events_filtered_by_container(self):
        since = int(time.time()) - 1
        self.client.containers.run("busybox", ["true"], name="py-events", remove=True)
        events = self.client.events(since=since, until=int(time.time()) + 1, decode=True,
                                    filters={"container": "py-events"})
        actions = [event["Action"] for event in events]
        for action in ("create", "start", "die", "destroy"):
            self.assertIn(action, actions)

    def test_errors_map_to_exceptions(self):
        with self.assertRaises(docker.errors.NotFound):
            self.client.containers.get("no-such-container-anywhere")
        with self.assertRaises(docker.errors.ImageNotFound):
            self.client.images.get("127.0.0.1:9/no/such:image")
        container = self.client.containers.create("busybox", ["sleep", "60"], name="py-conflict")
        try:
            with self.assertRaises(docker.errors.APIError) as raised:
                self.client.containers.create("busybox", ["true"], name="py-conflict")
            self.assertEqual(raised.exception.status_code, 409)
        finally:
            container.remove(force=True)


if __name__ == "__main__":
    unittest.main()
