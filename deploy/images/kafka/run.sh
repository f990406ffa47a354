#!/bin/bash
# apache/kafka's interface, enough for one KRaft node: every KAFKA_<NAME> variable becomes
# the property <name> (`_` -> `.`, `__` -> `_`, `___` -> `-`), CLUSTER_ID names the
# cluster, and the storage is formatted on first start.
set -euo pipefail
config=/var/lib/kafka/server.properties
: > "$config"
for name in $(compgen -e); do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_VERSION) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key="${name#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  key="${key//@/_}"
  printf '%s=%s\n' "$key" "${!name}" >> "$config"
done
grep -q '^log.dirs=' "$config" || echo "log.dirs=/var/lib/kafka/data" >> "$config"
logs="$(sed -n 's/^log.dirs=//p' "$config" | cut -d, -f1)"
java=(java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m} -Djava.awt.headless=true
      -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*')
if [ ! -f "$logs/meta.properties" ]; then
  "${java[@]}" kafka.tools.StorageTool format -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$config"
fi
exec "${java[@]}" kafka.Kafka "$config"
