package store_test

import (
	"context"
	"testing"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// When a supervisor merges two persons, the survivor's card stands, the
// other card is revoked as merged, and the other health ID keeps answering
// as an alias of the survivor.
func TestMergeKeepsHealthIDAsAliasAndRevokesCard(t *testing.T) {
	ctx := context.Background()
	r, task := reviewCase(t)
	pa, pb := r.personOf("lakshmi-1"), r.personOf("lakshmi-2")
	healthID := func(person string) string {
		t.Helper()
		var id string
		if err := r.db.QueryRowContext(ctx, `SELECT health_id FROM health_ids WHERE person_id = ?`, person).Scan(&id); err != nil {
			t.Fatalf("health ID of %s: %v", person, err)
		}
		return id
	}
	ha, hb := healthID(pa), healthID(pb)
	if ha == hb {
		t.Fatal("two persons share a health ID")
	}

	if _, err := r.s.DecideReview(ctx, task.ID, store.DecisionSame, "asha"); err != nil {
		t.Fatal(err)
	}
	survivor := r.personOf("lakshmi-1")
	merged, mergedID := pa, ha
	if survivor == pa {
		merged, mergedID = pb, hb
	}
	if got := healthID(merged); got != mergedID {
		t.Fatalf("merged person's health ID changed to %s", got)
	}

	// The alias answers with the survivor's cards; exactly one is valid.
	id, err := cards.ParseHealthID(mergedID)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := r.s.Cards(ctx, id.String())
	if err != nil {
		t.Fatalf("cards by the merged health ID: %v", err)
	}
	valid := 0
	for _, c := range versions {
		if c.Person != survivor {
			t.Errorf("alias %s answered with card %s of person %s, want the survivor %s", id, c.Serial, c.Person, survivor)
		}
		if c.Status != store.CardRevoked {
			valid++
		}
	}
	if valid != 1 {
		t.Errorf("survivor has %d valid cards, want 1", valid)
	}

	var status, reason string
	if err := r.db.QueryRowContext(ctx, `SELECT status, COALESCE(revoked_reason, '') FROM cards WHERE person_id = ? ORDER BY version DESC LIMIT 1`, merged).Scan(&status, &reason); err != nil {
		t.Fatal(err)
	}
	if status != store.CardRevoked || reason != store.ReasonMerged {
		t.Errorf("merged person's card is %s (%s), want revoked (merged)", status, reason)
	}
}

// The print queue lists the newest jobs of a centre, and a confirmed job
// shows as dispatched once its printed cards have left.
func TestPrintJobsListing(t *testing.T) {
	ctx := context.Background()
	r, _ := reviewCase(t)
	centres, err := r.s.CardCentres(ctx)
	if err != nil || len(centres) == 0 {
		t.Fatalf("centres: %v %v", centres, err)
	}
	centre := centres[0].Centre
	job, err := r.s.CreatePrintJob(ctx, centre, 2, "press")
	if err != nil {
		t.Fatal(err)
	}
	list, err := r.s.PrintJobs(ctx, centre, 10)
	if err != nil || len(list) != 1 || list[0].ID != job.ID || list[0].Count != 2 || list[0].Status != "open" || list[0].Dispatched {
		t.Fatalf("jobs of %s: %+v %v", centre, list, err)
	}
	if other, err := r.s.PrintJobs(ctx, "NO-SUCH", 10); err != nil || len(other) != 0 {
		t.Errorf("jobs of another centre: %+v %v", other, err)
	}
	if _, err := r.s.ConfirmPrintJob(ctx, job.ID, "press"); err != nil {
		t.Fatal(err)
	}
	if j, _ := r.s.PrintJob(ctx, job.ID); j.Status != "confirmed" || j.Dispatched {
		t.Errorf("confirmed job: %s dispatched %v", j.Status, j.Dispatched)
	}
	if err := r.s.DispatchPrintJob(ctx, job.ID, "press"); err != nil {
		t.Fatal(err)
	}
	if j, _ := r.s.PrintJob(ctx, job.ID); j.Status != "confirmed" || !j.Dispatched {
		t.Errorf("dispatched job: %s dispatched %v", j.Status, j.Dispatched)
	}
}
