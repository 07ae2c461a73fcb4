#!/usr/bin/env bash
# Installs what the tests need beyond Go, idempotently and only where
# missing, so a clean checkout passes `make test` with no set-up.
set -euo pipefail

need=()
# Debian packages the tests use, as "command:package": poppler's pdftoppm
# and zbar's zbarimg read the QR back from rendered card PDFs; chromium
# runs the supervisor console's end-to-end test headless (e2e/console_test.go
# drives it over the DevTools protocol, so no chromedriver is needed).
DEBS=${DOORSTEP_DEBS:-"pdftoppm:poppler-utils pdftotext:poppler-utils zbarimg:zbar-tools chromium:chromium"}
for pair in $DEBS; do
	cmd=${pair%%:*}
	pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || [[ " ${need[*]-} " == *" $pkg "* ]] || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
	need=($(printf '%s\n' "${need[@]}" | sort -u))
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: missing ${need[*]} and no apt-get; the tests that need them will skip (the console's browser test fails: it needs chromium)" >&2
		exit 0
	fi
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "install-deps: installing ${need[*]}" >&2
	$sudo apt-get update -qq >/dev/null || true
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		echo "install-deps: could not install ${need[*]}; the tests that need them will skip (the console's browser test fails: it needs chromium)" >&2
fi
