# The two commands of the README, plus benchmarks. Each target installs the system
# libraries it needs first (scripts/install-deps.sh: apt or Homebrew, only when missing).
.PHONY: run replay service service-test test docs bench bench-latency-nodelay bench-wordcount-baseline deps embedded-kafka hello-kafka word-count click-events orders-dashboard fraud-alerts

# The samples through the embedded Kafka broker: click events (stateless), word count
# (RocksDB state, rebuilt from its changelog on the second run), the orders dashboard
# (windows, late records, sessions), then fraud alerts (stream-table and stream-stream joins).
# They build in .build/samples, apart from the tests, without debug info or an index store,
# and each runs while the next ones build (scripts/run-samples.sh).
run: deps
	@bash scripts/run-samples.sh

# Reprocessing (Kappa): the orders dashboard, then version 2 of its per-minute totals
# replayed from offset 0 in a bounded run into its own topic, both shown side by side.
replay: deps
	@bash scripts/run-samples.sh "orders-dashboard --replay"

# The service sample (its own package, Samples/Service): two instances on the embedded
# broker, each asked for the same keys over HTTP; a key held by the other is forwarded.
service: deps
	cd Samples/Service && swift build --product streams-service && swift run --skip-build streams-service demo

# The service sample's tests: its endpoints over HTTP on loopback (make test runs them too).
service-test: deps
	cd Samples/Service && swift build --build-tests && swift test --skip-build

# The first look at the Kafka layer alone.
hello-kafka: deps
	swift run hello-kafka

# The whole test suite (real-broker tests run only with KAFKA_BOOTSTRAP_SERVERS set).
test: deps
	@bash scripts/run-tests.sh

# The DocC documentation (articles and API reference) of KafkaStreams, into .build/docs.
docs: deps
	swift package --allow-writing-to-directory .build/docs generate-documentation --target KafkaStreams --output-path .build/docs --warnings-as-errors

# Release-build benchmarks (against C baselines where there is one); each prints a JSON line.
bench: deps
	swift build -c release --product streams-bench
	.build/release/streams-bench client-pipe
	.build/release/streams-bench rocksdb
	.build/release/streams-bench stateless
	.build/release/streams-bench merge
	.build/release/streams-bench restore
	.build/release/streams-bench wordcount
	.build/release/streams-bench windowed
	.build/release/streams-bench join
	.build/release/streams-bench latency

# The latency benchmark without the embedded broker's Nagle stall: TCP_NODELAY forced on
# the process's sockets by an LD_PRELOAD shim, as a real broker sets it.
bench-latency-nodelay: deps
	swift build -c release --product streams-bench
	cc -shared -fPIC -O2 -o .build/nodelay.so scripts/nodelay-preload.c -ldl
	LD_PRELOAD=$(CURDIR)/.build/nodelay.so .build/release/streams-bench latency

# The word count against the library of an earlier commit (BASE), built in a scratch
# worktree with this harness; rounds alternate and the JSON line gives both and the ratio.
BASE ?= c973e15
bench-wordcount-baseline: deps
	swift build -c release --product streams-bench
	.build/release/streams-bench wordcount --rounds 5 --baseline-binary "$$(scripts/build-baseline.sh $(BASE))"

# The embedded broker as a standalone process, for other clients (kcat, ...).
word-count: deps
	swift run word-count

click-events: deps
	swift run click-events

orders-dashboard: deps
	swift run orders-dashboard

fraud-alerts: deps
	swift run fraud-alerts

embedded-kafka: deps
	swift run embedded-kafka --topic demo:3

deps:
	@bash scripts/install-deps.sh
