#!/usr/bin/env bash
# Fetches the Apache Kafka broker, admin tools and a log4j2 backend from Maven
# Central (the only place CI can get Kafka from) into one flat folder,
# $KAFKA_LIBS (default $REPO/.cache/kafka/libs), used as the java classpath.
# Skips the download when the folder was filled from the same kafka/pom.xml.
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

pom="$CI_TOOLS/kafka/pom.xml"
want="$(sha256sum "$pom" | cut -d' ' -f1)"
stamp="$KAFKA_LIBS/.pom.sha256"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
	ci_log "Kafka jars already in $KAFKA_LIBS"
else
	ci_log "fetching Kafka jars into $KAFKA_LIBS"
	mkdir -p "$(dirname "$KAFKA_LIBS")"
	# Fill a sibling folder and swap it in, so a failed fetch leaves no half set.
	tmp="$(mktemp -d "$KAFKA_LIBS.tmp.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	# sed: Maven 3.8 prints bare ANSI resets even in batch mode.
	mvn -q -B -f "$pom" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
	echo "$want" >"$tmp/.pom.sha256"
	rm -rf "$KAFKA_LIBS"
	mv "$tmp" "$KAFKA_LIBS"
	trap - EXIT
fi

n="$(find "$KAFKA_LIBS" -maxdepth 1 -name '*.jar' | wc -l)"
ci_log "$n jars; broker: $(basename "$(compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" | head -n1)")"
