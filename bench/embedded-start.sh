#!/usr/bin/env bash
# Start time of etch-embedded clusters (1 and 3 members), cold (first start in a fresh JVM) and
# warm (repeated starts in one JVM): bench/embedded-start.sh [cold-samples] [warm-samples]
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl etch-embedded -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test >/dev/null
m=etch-embedded/target
exec java -cp "$m/test-classes:$m/classes:$(cat $m/classpath.txt)" \
  io.etch.embedded.StartTimeBenchmark "$@"
