#!/usr/bin/env bash
# Starts a single-node Apache Kafka 4 (KRaft: combined broker + controller, no
# ZooKeeper) on 127.0.0.1:$KAFKA_PORT for integration tests, from the jars that
# fetch-kafka.sh put in $KAFKA_LIBS. State lives in $DIR (default
# /tmp/poet-ci/kafka): server.properties, data/, kafka.log, kafka.pid.
# A broker already answering on the port is reused; a stopped one restarts on
# its existing data. Returns once a metadata request succeeds (90 s timeout).
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

BROKER="127.0.0.1:${KAFKA_PORT}"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
pidfile="$DIR/kafka.pid"

if port_open 127.0.0.1 "$KAFKA_PORT" && kafka_ready; then
	ci_log "Kafka already answering on $BROKER: reusing it"
	echo "POET_TEST_KAFKA_BROKERS=$BROKER"
	exit 0
fi
if port_open 127.0.0.1 "$KAFKA_PORT" || port_open 127.0.0.1 "$KAFKA_CONTROLLER_PORT"; then
	ci_log "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT is taken by something that is not a working broker"
	exit 1
fi
if ! compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
	ci_log "no Kafka jars in $KAFKA_LIBS: run tools/ci/fetch-kafka.sh first"
	exit 1
fi
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	ci_log "stale broker pid $(cat "$pidfile") is alive but not answering: stopping it"
	"$CI_TOOLS/stop-kafka.sh"
fi

mkdir -p "$DIR/data"
conf="$DIR/server.properties"
# Rewritten every start so a port/dir change takes effect; data/ is kept.
cat >"$conf" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=16777216
PROPS

cp_arg="$KAFKA_LIBS/*"
tools_log="-Dlog4j2.configurationFile=$CI_TOOLS/kafka/tools-log4j2.xml"

if [[ ! -f "$DIR/data/meta.properties" ]]; then
	# Random KRaft cluster id: 16 random bytes, base64url without padding
	# (Kafka's Uuid text form), not starting with '-' (Kafka avoids that too).
	cluster_id="-"
	while [[ "$cluster_id" == -* ]]; do
		cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
	done
	ci_log "formatting KRaft storage in $DIR/data (cluster id $cluster_id)"
	java -Xmx256m "$tools_log" -cp "$cp_arg" kafka.tools.StorageTool format \
		--config "$conf" --cluster-id "$cluster_id" --standalone >"$DIR/format.log" 2>&1 || {
		cat "$DIR/format.log" >&2
		exit 1
	}
fi

ci_log "starting Kafka on $BROKER (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, log $DIR/kafka.log)"
# setsid + closed std streams: the broker outlives this script and its caller.
setsid java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
	-Djava.awt.headless=true \
	-Dkafka.logs.dir="$DIR" \
	-Dlog4j2.configurationFile="$CI_TOOLS/kafka/log4j2.xml" \
	-cp "$cp_arg" kafka.Kafka "$conf" \
	</dev/null >>"$DIR/kafka.out" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"

deadline=$((SECONDS + TIMEOUT))
until port_open 127.0.0.1 "$KAFKA_PORT" && kafka_ready; do
	if ! kill -0 "$pid" 2>/dev/null; then
		ci_log "Kafka (pid $pid) exited during startup"
		tail -n 60 "$DIR/kafka.out" "$DIR/kafka.log" >&2 2>/dev/null || true
		exit 1
	fi
	if ((SECONDS >= deadline)); then
		ci_log "Kafka not ready after ${TIMEOUT}s"
		tail -n 60 "$DIR/kafka.out" "$DIR/kafka.log" >&2 2>/dev/null || true
		exit 1
	fi
	sleep 1
done
ci_log "Kafka ready on $BROKER (pid $pid)"
echo "POET_TEST_KAFKA_BROKERS=$BROKER"
