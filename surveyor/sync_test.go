package surveyor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
	"github.com/doorstep-health/doorstep/surveyor/surveytest"
)

// setup registers a fresh store with a fake server through the real
// registration call, and imports n generated households.
func setup(t *testing.T, n int) (*surveyor.Store, *surveyor.Syncer, *surveytest.Server) {
	t.Helper()
	ctx := context.Background()
	srv := surveytest.NewServer(t)
	st := mustOpen(t, t.TempDir())
	sy := surveyor.NewSyncer(st)
	sy.Retry = surveyor.RetryPolicy{Base: time.Millisecond, Max: 5 * time.Millisecond, MaxRetries: 3}
	if _, err := sy.Register(ctx, srv.URL+"/", srv.Code); err != nil {
		t.Fatalf("register: %v", err)
	}
	if n > 0 {
		var buf bytes.Buffer
		surveytest.WriteJSONL(&buf, surveytest.Households(n, 5))
		if rep, err := st.Import(ctx, &buf, nil); err != nil || rep.Imported != n {
			t.Fatalf("import: %+v, %v", rep, err)
		}
	}
	return st, sy, srv
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	st, sy, srv := setup(t, 0)
	reg, err := st.Registration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reg.ServerURL != srv.URL || reg.DeviceID != srv.DeviceID || reg.Token != srv.Token || !bytes.Equal(reg.AadhaarKey, srv.Key) {
		t.Errorf("registration = %+v", reg)
	}
	// The code works once.
	_, err = sy.Register(ctx, srv.URL, srv.Code)
	if schema.ErrorCode(err) != schema.EUNAUTHORIZED {
		t.Errorf("second use of the code: %v", err)
	}
	if _, err := sy.Register(ctx, "sync.example.org", "X"); schema.ErrorCode(err) != schema.EINVALID {
		t.Errorf("server without scheme: %v", err)
	}
}

func TestSyncPushesEverythingAndPullsHealthIDs(t *testing.T) {
	ctx := context.Background()
	st, sy, srv := setup(t, 120)
	before, _ := st.Status(ctx)
	wantRecords := map[string]json.RawMessage{}
	recs, _ := st.PendingRecords(ctx, 10000)
	for _, r := range recs {
		wantRecords[r.Kind+"/"+r.ID] = r.Data
	}

	var progress []string
	rep, err := sy.Sync(ctx, surveyor.SyncOptions{BatchSize: 50, Progress: func(done, total int) {
		progress = append(progress, fmt.Sprintf("%d/%d", done, total))
	}})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if rep.Accepted != before.Pending || rep.Duplicate+rep.Stale+rep.Rejected != 0 || rep.BytesSent == 0 || rep.Changes != before.Residents {
		t.Errorf("report = %+v, want %d accepted and %d changes", rep, before.Pending, before.Residents)
	}
	pushes := srv.Pushes()
	if want := (before.Pending + 49) / 50; len(pushes) != want || len(progress) != want {
		t.Errorf("%d pushes, progress %v; want %d batches", len(pushes), progress, want)
	}
	var sent int64
	for i, p := range pushes {
		sent += int64(p.BodyBytes)
		if p.Encoding != "gzip" || p.Auth != "Bearer "+srv.Token || p.Batch.DeviceID != srv.DeviceID ||
			p.Batch.SchemaVersion != schema.SchemaVersion || p.Batch.BatchID == "" {
			t.Errorf("push %d: encoding %q auth %q batch %+v", i, p.Encoding, p.Auth, p.Batch.BatchID)
		}
		for _, r := range p.Batch.Records {
			if !bytes.Equal(wantRecords[r.Kind+"/"+r.ID], r.Data) {
				t.Errorf("push %d: %s %s decodes to %s, want %s", i, r.Kind, r.ID, r.Data, wantRecords[r.Kind+"/"+r.ID])
			}
			delete(wantRecords, r.Kind+"/"+r.ID)
		}
	}
	if len(wantRecords) != 0 {
		t.Errorf("%d records never pushed", len(wantRecords))
	}
	if sent != rep.BytesSent {
		t.Errorf("bytes_sent %d, server received %d", rep.BytesSent, sent)
	}

	after, _ := st.Status(ctx)
	if after.Pending != 0 || after.Synced != before.Pending || after.LastSync == nil {
		t.Errorf("status after sync = %+v", after)
	}
	list, _ := st.List(ctx, surveyor.ListFilter{Limit: 1})
	v, _ := st.Household(ctx, list[0].ID)
	for _, m := range v.Members {
		if m.SyncStatus != surveyor.StatusSynced || m.HealthID != surveytest.HealthIDFor(m.ID) {
			t.Errorf("member %s: status %s, health id %q", m.ID, m.SyncStatus, m.HealthID)
		}
	}

	// Nothing left: a second sync sends nothing and reads no change twice.
	rep, err = sy.Sync(ctx, surveyor.SyncOptions{})
	if err != nil || rep.Accepted != 0 || rep.Changes != 0 || len(srv.Pushes()) != len(pushes) {
		t.Errorf("second sync = %+v, %v", rep, err)
	}
}

func TestSyncRetriesWithTheSameBatch(t *testing.T) {
	tests := []struct {
		name     string
		failures []surveytest.Failure
	}{
		{"503", []surveytest.Failure{{Status: 503}, {Status: 503}}},
		{"connection cut", []surveytest.Failure{{Cut: true}}},
		{"429 then 500", []surveytest.Failure{{Status: 429}, {Status: 500}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, sy, srv := setup(t, 3)
			srv.FailNext(tt.failures...)
			var waits []time.Duration
			sy.SetSleep(func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil })
			before, _ := st.Status(ctx)
			rep, err := sy.Sync(ctx, surveyor.SyncOptions{})
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			pushes := srv.Pushes()
			if len(pushes) != len(tt.failures)+1 {
				t.Fatalf("%d pushes, want %d", len(pushes), len(tt.failures)+1)
			}
			first, _ := json.Marshal(pushes[0].Batch)
			for i, p := range pushes[1:] {
				again, _ := json.Marshal(p.Batch)
				if !bytes.Equal(first, again) {
					t.Errorf("attempt %d sent another batch:\n%s\nvs\n%s", i+2, again, first)
				}
			}
			if len(waits) != len(tt.failures) {
				t.Errorf("waited %d times, want %d", len(waits), len(tt.failures))
			}
			for i, w := range waits {
				if ceil := time.Millisecond << i; w < 0 || w > ceil {
					t.Errorf("wait %d = %v, want within [0, %v]", i, w, ceil)
				}
			}
			if rep.Accepted != before.Pending {
				t.Errorf("report = %+v", rep)
			}
		})
	}
}

func TestSyncHonoursRetryAfter(t *testing.T) {
	ctx := context.Background()
	_, sy, srv := setup(t, 1)
	srv.FailNext(surveytest.Failure{Status: 429, RetryAfter: "7"})
	var waits []time.Duration
	sy.SetSleep(func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil })
	if _, err := sy.Sync(ctx, surveyor.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 7*time.Second {
		t.Errorf("waits = %v, want [7s]", waits)
	}
}

func TestSyncGivesUpOnClientErrors(t *testing.T) {
	ctx := context.Background()
	st, sy, srv := setup(t, 2)
	srv.FailNext(surveytest.Failure{Status: 422, Problem: &schema.Problem{Title: "Unprocessable", Status: 422,
		Code: schema.EINVALID, Field: "schema_version", Message: "schema_version 1 is newer than the server's"}})
	before, _ := st.Status(ctx)
	_, err := sy.Sync(ctx, surveyor.SyncOptions{})
	if err == nil || schema.ErrorCode(err) != schema.EINVALID || !strings.Contains(err.Error(), "schema_version 1 is newer than the server's") {
		t.Fatalf("err = %v, want the server's problem", err)
	}
	if n := len(srv.Pushes()); n != 1 {
		t.Errorf("%d pushes, want no retry", n)
	}
	if after, _ := st.Status(ctx); after.Pending != before.Pending {
		t.Errorf("pending %d → %d", before.Pending, after.Pending)
	}
}

func TestSyncGivesUpAfterMaxRetriesAndResumes(t *testing.T) {
	ctx := context.Background()
	st, sy, srv := setup(t, 30)
	sy.SetSleep(func(context.Context, time.Duration) error { return nil })
	before, _ := st.Status(ctx)
	// The first batch goes through, the second finds the network down
	// for longer than the retries last.
	srv.Reject = nil
	var calls int
	_, err := sy.Sync(ctx, surveyor.SyncOptions{BatchSize: 40, Progress: func(done, total int) {
		calls++
		if calls == 1 {
			srv.FailNext(surveytest.Failure{Cut: true}, surveytest.Failure{Cut: true}, surveytest.Failure{Cut: true}, surveytest.Failure{Cut: true})
		}
	}})
	if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts") || !strings.Contains(err.Error(), "run `surveyor sync` again") {
		t.Fatalf("err = %v", err)
	}
	mid, _ := st.Status(ctx)
	if mid.Synced != 40 || mid.Pending != before.Pending-40 {
		t.Errorf("after the cut: %+v", mid)
	}
	rep, err := sy.Sync(ctx, surveyor.SyncOptions{BatchSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != before.Pending-40 {
		t.Errorf("resumed sync = %+v", rep)
	}
	if end, _ := st.Status(ctx); end.Pending != 0 || end.Synced != before.Pending {
		t.Errorf("end status = %+v", end)
	}
}

// An answer lost on the way back: the server applied the batch, the laptop
// never heard. The next sync re-sends and the server says duplicate.
func TestSyncLostAnswerIsDuplicate(t *testing.T) {
	ctx := context.Background()
	st, sy, srv := setup(t, 2)
	recs, _ := st.PendingRecords(ctx, 100)
	// Deliver the records behind the laptop's back, as a lost answer would.
	body, _ := json.Marshal(schema.Batch{BatchID: "B0", DeviceID: srv.DeviceID, SchemaVersion: 1, Records: recs})
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/sync/batches", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("direct push: %v %v", resp, err)
	}
	resp.Body.Close()
	rep, err := sy.Sync(ctx, surveyor.SyncOptions{})
	if err != nil || rep.Duplicate != len(recs) || rep.Accepted != 0 {
		t.Errorf("sync = %+v, %v; want %d duplicates", rep, err, len(recs))
	}
	if stat, _ := st.Status(ctx); stat.Pending != 0 {
		t.Errorf("status = %+v", stat)
	}
}

func TestSyncRejectedStayWithReasons(t *testing.T) {
	ctx := context.Background()
	st, sy, srv := setup(t, 0)
	h := sample()
	h.Members[1].Name = "Test Test"
	if err := st.SaveHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	srv.Reject = func(r schema.Record) *schema.RecordResult {
		if strings.Contains(string(r.Data), "Test Test") {
			return &schema.RecordResult{Kind: r.Kind, ID: r.ID, Version: r.Version, Status: schema.StatusRejected,
				Code: schema.EINVALID, Field: "name", Message: "looks like a placeholder, not a name"}
		}
		return nil
	}
	rep, err := sy.Sync(ctx, surveyor.SyncOptions{})
	if err != nil || rep.Rejected != 1 || rep.Accepted != 3 {
		t.Fatalf("sync = %+v, %v", rep, err)
	}
	list, _ := st.List(ctx, surveyor.ListFilter{Rejected: true})
	if len(list) != 1 || len(list[0].Rejections) != 1 || list[0].Rejections[0].Field != "members[1].name" {
		t.Fatalf("rejected = %+v", list)
	}

	v, _ := st.Household(ctx, h.ID)
	e := v.Schema()
	e.Members[1].Name = "Sita Devi"
	if _, err := st.UpdateHousehold(ctx, e); err != nil {
		t.Fatal(err)
	}
	rep, err = sy.Sync(ctx, surveyor.SyncOptions{})
	if err != nil || rep.Accepted != 1 || rep.Rejected != 0 {
		t.Fatalf("sync after fix = %+v, %v", rep, err)
	}
	if srv.Version(schema.KindResident, h.Members[1].ID) != 2 {
		t.Errorf("server has v%d of the fixed member", srv.Version(schema.KindResident, h.Members[1].ID))
	}
	if stat, _ := st.Status(ctx); stat.Rejected != 0 || stat.Pending != 0 {
		t.Errorf("status = %+v", stat)
	}
}

func TestSyncStopsOnCancel(t *testing.T) {
	st, sy, srv := setup(t, 5)
	ctx, cancel := context.WithCancel(context.Background())
	srv.FailNext(surveytest.Failure{Status: 503})
	sy.SetSleep(func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() })
	before, _ := st.Status(context.Background())
	_, err := sy.Sync(ctx, surveyor.SyncOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	if after, _ := st.Status(context.Background()); after.Pending != before.Pending {
		t.Errorf("pending %d → %d", before.Pending, after.Pending)
	}
}
