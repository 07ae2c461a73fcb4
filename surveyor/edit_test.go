package surveyor_test

import (
	"context"
	"testing"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// queued returns the outbox as kind/id → version.
func queued(t *testing.T, st *surveyor.Store) map[string]int64 {
	t.Helper()
	recs, err := st.PendingRecords(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range recs {
		out[r.Kind+"/"+r.ID] = r.Version
	}
	return out
}

// syncedAll acknowledges every queued record as accepted.
func syncedAll(t *testing.T, st *surveyor.Store) {
	t.Helper()
	ctx := context.Background()
	recs, err := st.PendingRecords(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	res := schema.BatchResult{}
	for _, r := range recs {
		res.Results = append(res.Results, schema.RecordResult{Kind: r.Kind, ID: r.ID, Version: r.Version, Status: schema.StatusAccepted})
	}
	if err := st.ApplyResults(ctx, res); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateHouseholdBumpsChangedRecords(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	h := sample()
	if err := st.SaveHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	syncedAll(t, st)
	if q := queued(t, st); len(q) != 0 {
		t.Fatalf("outbox after sync = %v", q)
	}

	v, err := st.Household(ctx, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	edit := v.Schema()
	edit.Members[1].Name = "Sita Kumari"                                          // changed
	removed := edit.Members[2].ID                                                 // removed
	edit.Members = append(edit.Members[:2], schema.Resident{Name: "Geeta Kumari", // added
		Sex: "F", DOB: "2015", Relation: "daughter", FatherName: "Ram Kumar"})
	n, err := st.UpdateHousehold(ctx, edit)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if n != 3 {
		t.Errorf("queued %d records, want 3 (changed, removed, added)", n)
	}
	want := map[string]int64{
		"resident/" + h.Members[1].ID:    2,
		"resident/" + removed:            2,
		"resident/" + edit.Members[2].ID: 1,
	}
	got := queued(t, st)
	if len(got) != len(want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("outbox %s = %d, want %d", k, got[k], v)
		}
	}
	recs, _ := st.PendingRecords(ctx, 10)
	for _, r := range recs {
		if r.ID == removed && !r.Deleted {
			t.Errorf("removed member travels without deleted: %+v", r)
		}
	}
	v, _ = st.Household(ctx, h.ID)
	if v.Version != 1 || len(v.Members) != 3 || v.Members[1].Name != "Sita Kumari" || v.Members[1].Version != 2 || v.Members[0].Version != 1 {
		t.Errorf("after edit: household v%d, members %+v", v.Version, v.Members)
	}
	// The unchanged head kept its Aadhaar hash through the round trip.
	if v.Members[0].AadhaarHash != schema.AadhaarHash(testKey, aadhaar1) {
		t.Errorf("head lost the aadhaar hash: %+v", v.Members[0].Resident)
	}

	// Nothing changed: nothing queued.
	if n, err := st.UpdateHousehold(ctx, v.Schema()); err != nil || n != 0 {
		t.Errorf("no-op edit queued %d, %v", n, err)
	}
}

func TestRejectedClearedByEdit(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	h := sample()
	if err := st.SaveHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	recs, _ := st.PendingRecords(ctx, 10)
	res := schema.BatchResult{}
	for _, r := range recs {
		rr := schema.RecordResult{Kind: r.Kind, ID: r.ID, Version: r.Version, Status: schema.StatusAccepted}
		if r.ID == h.Members[1].ID {
			rr.Status, rr.Code, rr.Field, rr.Message = schema.StatusRejected, schema.EINVALID, "name", "looks like a placeholder"
		}
		res.Results = append(res.Results, rr)
	}
	if err := st.ApplyResults(ctx, res); err != nil {
		t.Fatal(err)
	}
	list, err := st.List(ctx, surveyor.ListFilter{Rejected: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != surveyor.StatusRejected || len(list[0].Rejections) != 1 {
		t.Fatalf("rejected list = %+v", list)
	}
	if r := list[0].Rejections[0]; r.Field != "members[1].name" || r.Code != schema.EINVALID || r.Message != "looks like a placeholder" {
		t.Errorf("rejection = %+v", r)
	}
	stat, _ := st.Status(ctx)
	if stat.Rejected != 1 || stat.Synced != 3 || stat.Pending != 0 {
		t.Errorf("status = %+v", stat)
	}

	// An edit that does not even touch the member re-queues it with a new
	// version: editing is how the worker answers a rejection.
	v, _ := st.Household(ctx, h.ID)
	if n, err := st.UpdateHousehold(ctx, v.Schema()); err != nil || n != 1 {
		t.Fatalf("edit queued %d, %v; want 1", n, err)
	}
	if q := queued(t, st); len(q) != 1 || q["resident/"+h.Members[1].ID] != 2 {
		t.Errorf("outbox = %v", q)
	}
	if list, _ := st.List(ctx, surveyor.ListFilter{Rejected: true}); len(list) != 0 {
		t.Errorf("still rejected after edit: %+v", list)
	}
	if list, _ := st.List(ctx, surveyor.ListFilter{Pending: true}); len(list) != 1 || list[0].Status != surveyor.StatusPending {
		t.Errorf("pending list = %+v", list)
	}
}

// A result for a version that was edited meanwhile leaves the new version
// pending and queued.
func TestApplyResultsOnlyForTheSentVersion(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	h := sample()
	if err := st.SaveHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	sent, _ := st.PendingRecords(ctx, 10)
	v, _ := st.Household(ctx, h.ID)
	e := v.Schema()
	e.Address.Line2 = "Near the temple"
	if _, err := st.UpdateHousehold(ctx, e); err != nil {
		t.Fatal(err)
	}
	res := schema.BatchResult{}
	for _, r := range sent {
		res.Results = append(res.Results, schema.RecordResult{Kind: r.Kind, ID: r.ID, Version: r.Version, Status: schema.StatusAccepted})
	}
	if err := st.ApplyResults(ctx, res); err != nil {
		t.Fatal(err)
	}
	if q := queued(t, st); len(q) != 1 || q["household/"+h.ID] != 2 {
		t.Errorf("outbox = %v, want household v2 only", q)
	}
	v, _ = st.Household(ctx, h.ID)
	if v.SyncStatus != surveyor.StatusPending || v.Members[0].SyncStatus != surveyor.StatusSynced {
		t.Errorf("household %s, member %s", v.SyncStatus, v.Members[0].SyncStatus)
	}
}

func TestApplyChanges(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	h := sample()
	if err := st.SaveHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	err := st.ApplyChanges(ctx, schema.Changes{Cursor: 7, Changes: []schema.Change{
		{Seq: 6, Kind: "health_id_issued", RecordID: h.Members[0].ID, HealthID: "12-3456-7890-1234"},
		{Seq: 7, Kind: "card_status", RecordID: h.Members[0].ID, CardStatus: "printed", Message: "matched to a person enrolled in DL-NW-W04"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := st.Household(ctx, h.ID)
	m := v.Members[0]
	if m.HealthID != "12-3456-7890-1234" || m.CardStatus != "printed" || m.ServerNote == "" {
		t.Errorf("member after changes = %+v", m)
	}
}
