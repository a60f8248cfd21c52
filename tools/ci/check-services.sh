#!/usr/bin/env bash
# Asserts the integration services answer: PostgreSQL at
# $POET_TEST_POSTGRES_URL, Kafka at $POET_TEST_KAFKA_BROKERS (metadata, then a
# produce/consume round-trip on a throwaway topic created with Kafka's own
# TopicCommand and deleted afterwards). Exits non-zero on the first failure.
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

ci_log "PostgreSQL: $(psql "$POET_TEST_POSTGRES_URL" -v ON_ERROR_STOP=1 -Atc 'select version()')"

if ! timeout 20 kcat -b "$POET_TEST_KAFKA_BROKERS" -L -m 10 >/dev/null; then
	ci_log "Kafka metadata request to $POET_TEST_KAFKA_BROKERS failed"
	exit 1
fi
ci_log "Kafka: metadata OK from $POET_TEST_KAFKA_BROKERS"

topics() {
	java -Xmx256m -Dlog4j2.configurationFile="$CI_TOOLS/kafka/tools-log4j2.xml" \
		-cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
		--bootstrap-server "$POET_TEST_KAFKA_BROKERS" "$@"
}

topic="ci-check-$(date +%s)-$$"
msg="poet-ci round-trip $topic"
trap 'topics --delete --topic "$topic" >/dev/null 2>&1 || true' EXIT

topics --create --topic "$topic" --partitions 1 --replication-factor 1 >/dev/null
printf '%s\n' "$msg" | timeout 30 kcat -b "$POET_TEST_KAFKA_BROKERS" -t "$topic" -P -p 0
got="$(timeout 30 kcat -b "$POET_TEST_KAFKA_BROKERS" -t "$topic" -C -p 0 -o beginning -c 1 -q)"
if [[ "$got" != "$msg" ]]; then
	ci_log "Kafka round-trip on $topic: sent '$msg', got '$got'"
	exit 1
fi
ci_log "Kafka: round-trip OK on topic $topic"
