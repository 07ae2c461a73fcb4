package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// dump returns the rows of a query on a SQLite file, each row's columns
// joined by tabs, for comparing two databases.
func dump(t *testing.T, path, query string, args ...any) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return queryStrings(t, db, query, args...)
}

func exec1(t *testing.T, path, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.ExecContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", query, n)
	}
}

// registryRows is the server's registry as the comparison sees it.
func registryRows(t *testing.T, db string) []string {
	t.Helper()
	rows := dump(t, db, `SELECT 'household', id, version, deleted, data FROM households ORDER BY id`)
	return append(rows, dump(t, db, `SELECT 'resident', id, household_id, version, deleted, data FROM residents ORDER BY id`)...)
}

// householdJSON is the import format as `surveyor show --json` gives it.
type householdJSON map[string]any

func (l *laptop) show(t *testing.T, id string) householdJSON {
	t.Helper()
	return decodeJSON[householdJSON](t, l.run(t, "show", id, "--json"))
}

func (l *laptop) edit(t *testing.T, id string, h householdJSON) {
	t.Helper()
	body, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	run(t, strings.NewReader(string(body)), bin.surveyor, "--data", l.data, "edit", id, "--json", "-")
}

func (l *laptop) db() string { return filepath.Join(l.data, "surveyor.db") }

func members(h householdJSON) []any { return h["members"].([]any) }

// An edit made after a sync travels as a new version and replaces the old
// one on the server; the old version, arriving late, is stale and changes
// nothing.
func TestEditAfterSyncReplacesOnServer(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "registry.db"))
	l := newLaptop(t, srv, "laptop-03")
	l.run(t, "import", generate(t, 5, 0, 3))
	if rep := l.sync(t); rep.Accepted == 0 {
		t.Fatalf("first sync: %+v", rep)
	}
	old := filepath.Join(t.TempDir(), "old.jsonl")
	l.run(t, "export", "--all", "--out", old)

	hid := strings.Split(dump(t, l.db(), `SELECT id FROM households ORDER BY id LIMIT 1`)[0], "\t")[0]
	h := l.show(t, hid)
	m := members(h)[0].(map[string]any)
	rid := m["id"].(string)
	m["name"] = "Corrected Name Sharma"
	l.edit(t, hid, h)

	rep := l.sync(t)
	if rep.Accepted != 1 || rep.Rejected != 0 {
		t.Fatalf("sync after editing one member: %+v, want exactly that record accepted", rep)
	}
	row := dump(t, srv.db, `SELECT version, json_extract(data, '$.name') FROM residents WHERE id = ?`, rid)
	if len(row) != 1 || row[0] != "2\tCorrected Name Sharma" {
		t.Fatalf("server holds %q for the edited resident", row)
	}

	out := decodeJSON[map[string]any](t, run(t, nil, bin.syncserver, "--db", srv.db, "import", old, "--json"))
	if out["stale"].(float64) != 1 || out["accepted"].(float64) != 0 {
		t.Fatalf("late import of version 1: %v, want the edited record stale and nothing accepted", out)
	}
	row = dump(t, srv.db, `SELECT version, json_extract(data, '$.name') FROM residents WHERE id = ?`, rid)
	if row[0] != "2\tCorrected Name Sharma" {
		t.Fatalf("stale version changed the server: %q", row)
	}
}

// A record the server refuses stays on the laptop, with the server's
// reason, until the survey worker fixes it; then it syncs.
func TestRejectedRecordStaysUntilEdited(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "registry.db"))
	l := newLaptop(t, srv, "laptop-04")
	l.run(t, "import", generate(t, 4, 0, 5))

	// A laptop on an older build let a wrong value through: simulate it by
	// writing the record as that build would have.
	first := strings.Split(dump(t, l.db(), `SELECT id, household_id FROM residents ORDER BY id LIMIT 1`)[0], "\t")
	rid, hid := first[0], first[1]
	exec1(t, l.db(), `UPDATE residents SET data = json_set(data, '$.sex', 'X') WHERE id = ?`, rid)

	rep := l.sync(t)
	if rep.Rejected != 1 || rep.Accepted == 0 {
		t.Fatalf("sync: %+v, want one rejected and the rest accepted", rep)
	}
	listed := l.run(t, "list", "--rejected")
	if !strings.Contains(listed, hid) || !strings.Contains(listed, "sex") {
		t.Fatalf("list --rejected does not show the household and the reason:\n%s", listed)
	}
	if again := l.sync(t); again.Accepted != 0 || again.Rejected != 0 {
		t.Fatalf("an unfixed rejected record was sent again: %+v", again)
	}
	if st := l.status(t); st.Rejected != 1 {
		t.Fatalf("status after a rejection: %+v", st)
	}

	h := l.show(t, hid)
	for _, m := range members(h) {
		if mm := m.(map[string]any); mm["id"] == rid {
			mm["sex"] = "F"
		}
	}
	l.edit(t, hid, h)
	if rep := l.sync(t); rep.Accepted != 1 || rep.Rejected != 0 {
		t.Fatalf("sync after the fix: %+v", rep)
	}
	st := l.status(t)
	if st.Rejected != 0 || st.Pending != 0 {
		t.Fatalf("status after the fix: %+v", st)
	}
	if got := srv.stats(t); got.Residents != st.Residents {
		t.Fatalf("server has %d residents, laptop %d", got.Residents, st.Residents)
	}
	if listed := l.run(t, "list", "--rejected"); strings.Contains(listed, hid) {
		t.Fatalf("fixed household still listed as rejected:\n%s", listed)
	}
}

// A laptop with no network hands over a file instead: `surveyor export`
// then `syncserver import` leaves the registry exactly as a network sync
// would, and importing the file again changes nothing.
func TestExportImportEqualsNetworkSync(t *testing.T) {
	dir := t.TempDir()
	netDB := filepath.Join(dir, "network.db")
	srv := startServer(t, netDB)
	l := newLaptop(t, srv, "laptop-05")
	srv.stop()
	// The file path needs a server that knows the same laptop: a copy of the
	// registry taken after registration.
	fileDB := filepath.Join(dir, "file.db")
	copyFile(t, netDB, fileDB)
	srv = startServerOn(t, netDB, srv.addr)

	l.run(t, "import", generate(t, 150, 0.1, 9))
	export := filepath.Join(dir, "batches.jsonl")
	l.run(t, "export", "--out", export)
	if rep := l.sync(t); rep.Rejected != 0 || rep.Accepted == 0 {
		t.Fatalf("network sync: %+v", rep)
	}

	first := decodeJSON[map[string]any](t, run(t, nil, bin.syncserver, "--db", fileDB, "--keys", filepath.Join(dir, "network-keys"), "import", export, "--json"))
	if first["rejected"].(float64) != 0 || first["accepted"].(float64) == 0 {
		t.Fatalf("first import: %v", first)
	}
	want, got := registryRows(t, netDB), registryRows(t, fileDB)
	if len(want) == 0 || strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("registry after import differs from network sync: %d rows vs %d", len(got), len(want))
	}
	second := decodeJSON[map[string]any](t, run(t, nil, bin.syncserver, "--db", fileDB, "--keys", filepath.Join(dir, "network-keys"), "import", export, "--json"))
	if second["accepted"].(float64) != 0 || second["duplicate"].(float64) != first["accepted"].(float64) {
		t.Fatalf("second import: %v, want everything duplicate", second)
	}
	if again := registryRows(t, fileDB); strings.Join(again, "\n") != strings.Join(got, "\n") {
		t.Fatal("importing the file twice changed the registry")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		src, err := os.Open(from + suffix)
		if err != nil {
			if suffix != "" && os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		dst, err := os.OpenFile(to+suffix, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
