#!/usr/bin/env bash
# A throwaway PostgreSQL cluster in a folder, on 127.0.0.1, for the tests
# and benchmarks of the PostgreSQL store. Installs PostgreSQL from Debian's
# packages where it is missing.
#
#   scripts/pg-cluster.sh start DIR   starts it and prints its DSN
#   scripts/pg-cluster.sh stop DIR    stops it (the folder is left to the caller)
set -euo pipefail

find_bin() {
	local b
	if command -v pg_config >/dev/null 2>&1; then
		b=$(pg_config --bindir)
		[ -x "$b/initdb" ] && { echo "$b"; return; }
	fi
	for b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$b/initdb" ] && { echo "$b"; return; }
	done
}

bin=$(find_bin || true)
if [ -z "$bin" ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "pg-cluster: installing postgresql" >&2
	$sudo apt-get update -qq >/dev/null || true
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
	bin=$(find_bin)
fi

cmd=${1:?usage: pg-cluster.sh start|stop DIR}
dir=${2:?usage: pg-cluster.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# PostgreSQL refuses to run as root; root runs it as the postgres user (or
# nobody) on a folder that user owns.
as=()
if [ "$(id -u)" -eq 0 ]; then
	user=postgres
	id "$user" >/dev/null 2>&1 || user=nobody
	chown -R "$user" "$dir"
	as=(runuser -u "$user" --)
fi

case "$cmd" in
start)
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		if ! "${as[@]}" "$bin/initdb" -D "$dir/data" -U doorstep --auth=trust --locale=C.UTF-8 --encoding=UTF8 >"$dir/initdb.log" 2>&1 &&
			! "${as[@]}" "$bin/initdb" -D "$dir/data" -U doorstep --auth=trust --locale=C --encoding=UTF8 >"$dir/initdb.log" 2>&1; then
			echo "pg-cluster: initdb failed in $dir (is every folder above it open to ${user:-this user}?):" >&2
			tail -5 "$dir/initdb.log" >&2
			exit 1
		fi
	fi
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
	# fsync stays on: the tests kill servers mid-batch and must see what a
	# real deployment would keep.
	"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-h 127.0.0.1 -p $port -k $dir -c max_connections=400 -c shared_buffers=256MB" start >/dev/null
	echo "postgres://doorstep@127.0.0.1:$port/postgres?sslmode=disable"
	;;
stop)
	[ -f "$dir/data/postmaster.pid" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
	;;
*)
	echo "usage: pg-cluster.sh start|stop DIR" >&2
	exit 2
	;;
esac
