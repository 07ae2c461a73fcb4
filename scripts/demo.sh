#!/usr/bin/env bash
# The whole flow on one machine, as README describes it: a central server on
# an embedded SQLite file, one registered laptop, generated households,
# import, sync, and a summary. Later stages (matching, cards, QR check) add
# their steps below the sync.
set -euo pipefail
cd "$(dirname "$0")/.."

HOUSEHOLDS=${DEMO_HOUSEHOLDS:-2000}
DUP_RATE=${DEMO_DUP_RATE:-0.1}
SEED=${DEMO_SEED:-42}
work=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-demo.XXXXXX")
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	true
}
trap cleanup EXIT

json_field() { # json_field KEY < json: the value of a top-level string or number field
	sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" | head -n 1
}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

export SYNCSERVER_DB="$work/server/registry.db"
mkdir -p "$work/server"
start=$(date +%s.%N)

step "Central server on $SYNCSERVER_DB"
bin/syncserver serve --addr 127.0.0.1:0 2>"$work/server/server.log" &
server_pid=$!
addr=""
for _ in $(seq 1 100); do
	addr=$(sed -n 's/.*listening.*addr=\([0-9.:]*\).*/\1/p' "$work/server/server.log" | head -n 1)
	[ -n "$addr" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { echo "server did not start:"; cat "$work/server/server.log"; exit 1; }
echo "listening on http://$addr"

step "Register a laptop (one-time code)"
reg=$(bin/syncserver device add --name laptop-01 --area DL-NW-W05 --json)
code=$(echo "$reg" | json_field code)
echo "device add -> $reg"
export SURVEYOR_DATA="$work/laptop-01"
bin/surveyor init --server "http://$addr" --code "$code"

step "Generate $HOUSEHOLDS households (dup rate $DUP_RATE, seed $SEED)"
bin/surveygen --households "$HOUSEHOLDS" --dup-rate "$DUP_RATE" --seed "$SEED" --out "$work/households.jsonl"
wc -l <"$work/households.jsonl" | xargs echo "lines:"

step "Import on the laptop"
bin/surveyor import "$work/households.jsonl"
bin/surveyor status

step "Sync"
sync_json=$(bin/surveyor sync --json)
echo "$sync_json"

step "Sync again: nothing new is sent, nothing doubled"
bin/surveyor sync --json

step "Server"
stats_json=$(bin/syncserver stats --json)
bin/syncserver stats
end=$(date +%s.%N)

step "Summary"
printf '%-28s %s\n' \
	"households on server" "$(echo "$stats_json" | json_field households)" \
	"residents on server" "$(echo "$stats_json" | json_field residents)" \
	"accepted" "$(echo "$sync_json" | json_field accepted)" \
	"duplicate" "$(echo "$sync_json" | json_field duplicate)" \
	"rejected" "$(echo "$sync_json" | json_field rejected)" \
	"bytes sent" "$(echo "$sync_json" | json_field bytes_sent)" \
	"sync seconds" "$(echo "$sync_json" | json_field seconds)" \
	"demo seconds" "$(awk "BEGIN{printf \"%.1f\", $end - $start}")"
echo "work folder: $work"
