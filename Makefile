# swiftd: build, run the main job, and test.
SWIFT_FLAGS := -Xswiftc -warnings-as-errors
DEB_PACKAGES := pkg-config libnl-3-dev libnl-route-3-dev libiptc-dev libsystemd-dev libcap-dev \
	libseccomp-dev libarchive-dev libssl-dev busybox-static iptables iproute2 iputils-ping \
	util-linux curl tar openssl skopeo docker-registry debootstrap systemd-container lintian \
	linux-libc-dev libc6-dev
export SWIFTD_GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
export SWIFTD_BUILD_TIME := $(shell git log -1 --format=%cI 2>/dev/null)

.PHONY: all deps build release run test test-debug test-release test-compat fuzz fuzz-ci deb \
	test-package clean

all: build

# Installs the Debian packages that a fresh Debian 12 machine lacks.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	swift build $(SWIFT_FLAGS)

release: deps
	swift build -c release $(SWIFT_FLAGS)

# Starts a daemon, imports busybox, runs a container on the bridge network, stops the daemon.
run: release
	scripts/demo.sh .build/release/swiftd

# Builds and tests both configurations; the end-to-end tests need root.
test: deps test-debug test-release test-compat fuzz-ci test-package

# Tests run one at a time: a test that writes an executable while another test clones a child
# can fail with ETXTBSY, because the child holds the writer's descriptor until its execve.
# Each test target runs in a process of its own: the exec driver's reaper collects every child
# of its process, which would take the exit statuses of other targets' helper processes.
TEST_TARGETS := SwiftdEngineTests SwiftdAPITests SwiftdGraphTests SwiftdExecTests \
	SwiftdNetworkTests SwiftdDaemonTests SwiftdClientTests SwiftdRegistryTests EndToEndTests

test-debug:
	swift build --build-tests $(SWIFT_FLAGS)
	@for target in $(TEST_TARGETS); do \
		echo "== $$target (debug)"; \
		SWIFTD_BINARY=$(CURDIR)/.build/debug/swiftd swift test --skip-build --no-parallel --filter "^$$target\." || exit 1; \
	done

test-release:
	swift build -c release --build-tests $(SWIFT_FLAGS) -Xswiftc -enable-testing
	@for target in $(TEST_TARGETS); do \
		echo "== $$target (release)"; \
		SWIFTD_BINARY=$(CURDIR)/.build/release/swiftd swift test -c release --skip-build --no-parallel --filter "^$$target\." || exit 1; \
	done

# The docker CLI and docker-py (from PyPI) against a release swiftd.
test-compat:
	@python3 -c 'import docker' 2>/dev/null || pip install --quiet 'docker==7.1.0'
	cd Tests/Compat && SWIFTD_BINARY=$(CURDIR)/.build/release/swiftd python3 -m unittest discover -v -p 'test_*.py'

# Fuzzes the HTTP request parser with libFuzzer: a million runs here, fewer in `make test`.
fuzz:
	scripts/fuzz-http.sh 1000000

fuzz-ci:
	scripts/fuzz-http.sh 100000

# The Debian package, from a release build with the Swift runtime linked in, so that it depends
# only on Debian's libraries; lintian must report no errors.
deb: deps
	swift build -c release --static-swift-stdlib $(SWIFT_FLAGS)
	@deb=$$(scripts/deb.sh .build/release/swiftd build) && echo "built $$deb" && \
		lintian --fail-on error --tag-display-limit 0 "$$deb"

# Installs the package in a Debian 12 machine booted with systemd-nspawn and tests it there.
test-package: deb
	scripts/test-package.sh "$$(ls -t build/swiftd_*.deb | head -1)"
# Runs the same workloads against swiftd and Debian's dockerd and prints one table (needs root;
# BENCH_QUICK=1 for fewer repetitions, BENCH_NO_DOCKER=1 for swiftd's column alone).
.PHONY: bench
# It measures the binary that the Debian package installs: the Swift runtime linked in.
bench: deps
	swift build -c release --static-swift-stdlib $(SWIFT_FLAGS)
	scripts/bench-deps.sh
	python3 bench/bench.py --swiftd .build/release/swiftd --output .build/bench-results.md \
		$(if $(filter 1,$(BENCH_NO_DOCKER)),--no-docker)

clean:
	rm -rf .build
