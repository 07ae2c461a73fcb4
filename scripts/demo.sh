#!/usr/bin/env bash
# The whole flow on one machine, as README describes it: a central server on
# an embedded SQLite file, one registered laptop, generated households,
# import, sync, matching, a print job for the busiest printing centre, the
# laptop hearing its health IDs and card status, an offline QR check, a
# hospital verifying a card online and following the feed, a summary, and
# the supervisor console's address with a token to sign in (DEMO_KEEP=1 keeps
# the server up for it until Ctrl-C).
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

step "Matching: wait until the server has matched every resident"
for _ in $(seq 1 600); do # at most 60 s
	pending=$(bin/syncserver stats --json | json_field match_pending)
	[ "$pending" = 0 ] && break
	sleep 0.1
done
[ "$pending" = 0 ] || { echo "matching did not finish: $pending residents pending"; exit 1; }
stats_json=$(bin/syncserver stats --json)
printf '%-28s %s\n' \
	"persons" "$(echo "$stats_json" | json_field persons)" \
	"linked automatically" "$(echo "$stats_json" | json_field auto_links)" \
	"review tasks open" "$(echo "$stats_json" | json_field review_open)"
if bin/syncserver review list >"$work/review.txt" 2>&1; then
	echo "first review tasks:"
	head -n 6 "$work/review.txt"
fi

step "Printing centres: each new person has a health ID and a queued card"
bin/syncserver cards centres
centre=$(bin/syncserver cards centres --json | sed -n 's/^{"centres":\[{"centre":"\([^"]*\)".*/\1/p')
[ -n "$centre" ] || { echo "no cards queued"; exit 1; }

step "Print job for $centre (the centre with most cards waiting)"
job_json=$(bin/syncserver cards print --centre "$centre" --out "$work/sheet.pdf" --json)
job=$(echo "$job_json" | json_field id)
echo "print job $job: $(echo "$job_json" | json_field count) cards on $(echo "$job_json" | json_field sheets) A4 sheets -> $work/sheet.pdf"
bin/syncserver cards confirm "$job"

step "The laptop syncs and sees health IDs and card status"
bin/surveyor sync --json >/dev/null
# A household of the printed centre with members: its cards are printed.
bin/surveyor list --json >"$work/households-on-laptop.json"
household=$(awk -v c="\"$centre-" '
	/"id":/ { id = $2 } /"area":/ { area = $2 }
	/"members": [1-9]/ && index(area, c) == 1 { gsub(/[",]/, "", id); print id; exit }' "$work/households-on-laptop.json")
bin/surveyor show "$household"
health_id=$(bin/surveyor show "$household" --json | json_field health_id)

step "Check QR codes offline with the published keys only"
bin/syncserver keys export --out "$work/health-card-keys.json"
qr_check="failed"
bin/syncserver cards qr "$health_id" --png "$work/card.png"
if bin/syncserver verify --keys "$work/health-card-keys.json" --image "$work/card.png"; then
	qr_check="valid ($health_id, pure Go"
	if command -v pdftoppm >/dev/null; then
		pdftoppm -r 300 -png -gray -singlefile -f 1 -l 1 "$work/sheet.pdf" "$work/sheet-page1"
		n=$(bin/syncserver verify --keys "$work/health-card-keys.json" --image "$work/sheet-page1.png" --json | grep -c '"valid":true' || true)
		echo "sheet page 1 read with the pure-Go decoder: $n valid codes"
		qr_check="$qr_check; sheet page 1: $n valid with gozxing"
		if command -v zbarimg >/dev/null; then
			zbarimg --raw -q -Sdisable -Sqrcode.enable "$work/sheet-page1.png" 2>/dev/null >"$work/sheet-page1.txt" || true
			n=$(bin/syncserver verify --keys "$work/health-card-keys.json" --json - <"$work/sheet-page1.txt" | grep -c '"valid":true' || true)
			echo "sheet page 1 read with zbarimg: $n valid codes"
			qr_check="$qr_check, $n with zbarimg"
		fi
	else
		echo "(pdftoppm not installed: the printed sheet itself is not rasterised; the card's QR was checked in pure Go)"
	fi
	qr_check="$qr_check)"
fi

step "Hospital: verify the card online, keep a copy of the registry, see the audit"
hospital_token=$(bin/syncserver token create --role hospital --name demo-hospital --json | json_field token)
online_check="skipped (curl not installed)"
if command -v curl >/dev/null; then
	qr_text=$(bin/syncserver cards qr "$health_id")
	verdict=$(curl -sS -H "Authorization: Bearer $hospital_token" -H 'Content-Type: application/json' \
		--data "{\"qr\":\"$qr_text\"}" "http://$addr/api/v1/cards/verify")
	echo "POST /api/v1/cards/verify -> $verdict"
	online_check="$(echo "$verdict" | json_field status) ($(echo "$verdict" | json_field name), born $(echo "$verdict" | json_field birth_year))"
fi
follow_json=$(SYNCSERVER_TOKEN="$hospital_token" bin/syncserver feed follow --server "http://$addr" --out "$work/hospital-copy.jsonl" --until-idle --json)
echo "feed follow -> $follow_json ($work/hospital-copy.jsonl)"
bin/syncserver audit --person "$health_id" 2>/dev/null | head -n 8

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
	"persons" "$(echo "$stats_json" | json_field persons)" \
	"linked automatically" "$(echo "$stats_json" | json_field auto_links)" \
	"review tasks open" "$(echo "$stats_json" | json_field review_open)" \
	"cards queued" "$(echo "$stats_json" | json_field queued)" \
	"cards printed" "$(echo "$stats_json" | json_field printed)" \
	"QR check" "$qr_check" \
	"online verification" "$online_check" \
	"hospital copy (feed)" "$(echo "$follow_json" | json_field received) events, $(echo "$follow_json" | json_field active) active persons" \
	"demo seconds" "$(awk "BEGIN{printf \"%.1f\", $end - $start}")"
echo "work folder: $work"

step "Supervisor console"
# A supervisor token to sign in with; printing centres sign in with a
# printer token the same way (token create --role printer).
supervisor_token=$(bin/syncserver token create --role supervisor --name demo-supervisor --json | json_field token)
printf '%-28s %s\n' \
	"console" "http://$addr/console/" \
	"supervisor token" "$supervisor_token"
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	echo "The server keeps running for the console (DEMO_KEEP=1); Ctrl-C stops it."
	wait "$server_pid" || true
else
	echo "The server stops now that the demo ends: run 'DEMO_KEEP=1 make demo' to keep it up for the console until Ctrl-C."
fi
