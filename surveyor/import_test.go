package surveyor_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/surveyor"
	"github.com/doorstep-health/doorstep/surveyor/surveytest"
)

func TestImportReportsBadLinesAndImportsTheRest(t *testing.T) {
	ctx := context.Background()
	st, dir := mustRegistered(t)
	var good bytes.Buffer
	lines, err := surveytest.WriteJSONL(&good, surveytest.Households(4, 1))
	if err != nil {
		t.Fatal(err)
	}
	future := fmt.Sprintf("%d-01-01", time.Now().Year()+1)
	file := strings.Join([]string{
		string(lines[0]),
		`{"area": "DL-NW-W05", "address": {"line1": "1 Main Road", "locality": "Rohini", "city": "Delhi", "pincode": "12345"}, "outcome": "locked"}`,
		string(lines[1]),
		``,
		`{"area": "DL-NW-W05", "address": {"line1": "2 Main Road", "locality": "Rohini", "city": "Delhi", "pincode": "110085"}, "outcome": "enrolled", "consent": {"given": true},
		 "members": [{"name": "A B", "sex": "M", "dob": "1970", "relation": "head"}, {"name": "C D", "sex": "F", "dob": "` + future + `", "relation": "daughter", "cluster": 7}]}`,
		`not json`,
		`{"area": 5}`,
		string(lines[2]),
		string(lines[3]),
		string(lines[0]), // the same line twice: skipped
	}, "\n")
	// The multi-line object above is not one line: rejoin it onto its line.
	file = strings.Replace(file, ",\n\t\t \"members\"", `, "members"`, 1)

	var progress []int
	rep, err := st.Import(ctx, strings.NewReader(file), func(n int) { progress = append(progress, n) })
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if rep.Imported != 4 || rep.Skipped != 1 || rep.Failed != 4 {
		t.Errorf("report = %+v, want 4 imported, 1 skipped, 4 failed", rep)
	}
	want := []surveyor.LineError{
		{Line: 2, Field: "address.pincode", Rule: "pincode_format", Message: "must be 6 digits not starting with 0, like 110085"},
		{Line: 5, Field: "members[1].dob", Rule: "not_future", Message: "must not be in the future"},
		{Line: 6, Rule: "json"},
		{Line: 7, Field: "area", Rule: "json_type"},
	}
	if len(rep.Errors) != len(want) {
		t.Fatalf("errors = %+v", rep.Errors)
	}
	for i, w := range want {
		got := rep.Errors[i]
		if got.Line != w.Line || got.Field != w.Field || got.Rule != w.Rule || (w.Message != "" && got.Message != w.Message) {
			t.Errorf("error %d = %+v, want %+v", i, got, w)
		}
	}
	if len(progress) == 0 || progress[len(progress)-1] != 10 {
		t.Errorf("progress = %v, want it to end at line 10", progress)
	}

	// Running it again changes nothing.
	rep, err = st.Import(ctx, strings.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 0 || rep.Skipped != 5 || rep.Failed != 4 {
		t.Errorf("second run = %+v, want 0 imported, 5 skipped, 4 failed", rep)
	}
	db, err := sqlitedb.OpenReader(ctx, filepath.Join(dir, surveyor.DBFile), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := countRows(t, db, `SELECT COUNT(*) FROM households`); n != 4 {
		t.Errorf("%d households stored, want 4", n)
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM import_log`); n != 4 {
		t.Errorf("%d import log entries, want 4", n)
	}
}

func TestImportMemberIDConflict(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	file := `{"id": "HX", "area": "A1", "address": {"line1": "1", "locality": "L", "city": "C", "pincode": "110001"}, "outcome": "enrolled", "consent": {"given": true}, "members": [{"id": "R1", "name": "A", "sex": "M", "dob": "1970", "relation": "head"}]}
{"id": "HY", "area": "A1", "address": {"line1": "2", "locality": "L", "city": "C", "pincode": "110001"}, "outcome": "enrolled", "consent": {"given": true}, "members": [{"id": "R1", "name": "B", "sex": "M", "dob": "1971", "relation": "head"}]}
`
	rep, err := st.Import(ctx, strings.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 || rep.Failed != 1 || len(rep.Errors) != 1 || rep.Errors[0].Line != 2 || rep.Errors[0].Field != "members[0].id" {
		t.Errorf("report = %+v", rep)
	}
}

func TestImportChunksAndIDlessLines(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	hs := surveytest.Households(surveyor.ImportChunk*2+17, 3)
	members := 0
	for _, h := range hs {
		members += len(h.Members)
	}
	var buf bytes.Buffer
	if _, err := surveytest.WriteJSONL(&buf, hs); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	var progress []int
	rep, err := st.Import(ctx, bytes.NewReader(data), func(n int) { progress = append(progress, n) })
	if err != nil || rep.Imported != len(hs) {
		t.Fatalf("import = %+v, %v", rep, err)
	}
	if want := []int{500, 1000, 1017}; fmt.Sprint(progress) != fmt.Sprint(want) {
		t.Errorf("progress = %v, want %v", progress, want)
	}
	rep, err = st.Import(ctx, bytes.NewReader(data), nil)
	if err != nil || rep.Imported != 0 || rep.Skipped != len(hs) {
		t.Fatalf("re-import = %+v, %v", rep, err)
	}
	stat, _ := st.Status(ctx)
	if stat.Households != len(hs) || stat.Residents != members || stat.Pending != len(hs)+members {
		t.Errorf("status = %+v, want %d households, %d residents", stat, len(hs), members)
	}
}

// BenchmarkImport measures households per second into the laptop store,
// each household committed with its members and outbox rows.
func BenchmarkImport(b *testing.B) {
	const n = 2000
	var buf bytes.Buffer
	if _, err := surveytest.WriteJSONL(&buf, surveytest.Households(n, 11)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	ctx := context.Background()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, _ := mustRegistered(b)
		b.StartTimer()
		start := time.Now()
		rep, err := st.Import(ctx, bytes.NewReader(data), nil)
		elapsed += time.Since(start)
		if err != nil || rep.Imported != n {
			b.Fatalf("import = %+v, %v", rep, err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "households/s")
}
