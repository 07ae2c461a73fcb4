package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

var hospitalDesk = store.Reader{
	Principal: store.Principal{TokenID: "tok-1", Name: "aiims-desk-3", Role: schema.RoleHospital},
	Client:    "10.20.30.40",
}

// validCard returns the health ID (dashed, as people read it) and QR of the valid card of the person
// of resident.
func (r *registry) validCard(resident string) (string, string) {
	r.t.Helper()
	versions, err := r.s.Cards(context.Background(), r.personOf(resident))
	if err != nil {
		r.t.Fatal(err)
	}
	for _, c := range versions {
		if c.Status != store.CardRevoked {
			id, err := cards.ParseHealthID(c.HealthID)
			if err != nil {
				r.t.Fatal(err)
			}
			return id.String(), c.QR
		}
	}
	r.t.Fatalf("person of %s has no valid card", resident)
	return "", ""
}

func (r *registry) auditCount(healthID string) int {
	r.t.Helper()
	log, err := r.s.AuditLog(context.Background(), healthID)
	if err != nil {
		r.t.Fatal(err)
	}
	return len(log)
}

// A hospital scanning a card learns whether it is the person's current,
// unrevoked card, and each scan of a genuine card is audited.
func TestVerifyCard(t *testing.T) {
	ctx := context.Background()
	r, task := reviewCase(t)
	hidA, qrA := r.validCard("lakshmi-1")
	hidB, qrB := r.validCard("lakshmi-2")

	verify := func(qr string) store.CardVerdict {
		t.Helper()
		v, err := r.s.VerifyCard(ctx, hospitalDesk, qr)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		return v
	}
	v := verify(qrA)
	if v.Status != "valid" || v.HealthID != hidA || v.Name != "Lakshmi Verma" || v.BirthYear != "1990" || v.Sex != "F" || v.Version != 1 {
		t.Fatalf("fresh card (%s): %+v", hidA, v)
	}
	log, err := r.s.AuditLog(ctx, hidA)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "card.verify" || log[0].TokenName != "aiims-desk-3" || log[0].Role != "hospital" ||
		log[0].Client != "10.20.30.40" || log[0].HealthID != hidA || log[0].At.IsZero() {
		t.Fatalf("audit after one scan: %+v", log)
	}

	// Not a card at all, and a forgery under a key we never published:
	// answered, but nothing of any person was read, so nothing audited.
	for qr, reason := range map[string]string{
		"hello":                    cards.ReasonNotBase45,
		forged(t, hidA, "Lakshmi"): cards.ReasonUnknownKey,
	} {
		if v := verify(qr); v.Status != "invalid" || v.Reason != reason || v.Name != "" {
			t.Errorf("verify %.20q: %+v, want invalid %s", qr, v, reason)
		}
	}
	if n := r.auditCount(hidA); n != 1 {
		t.Errorf("%d audit records after invalid scans, want still 1", n)
	}

	// A lost card is reprinted: the old one is superseded by version 2.
	if _, err := r.s.Reprint(ctx, hidA, store.ReasonLost, "desk"); err != nil {
		t.Fatal(err)
	}
	if v := verify(qrA); v.Status != "invalid" || v.Reason != cards.ReasonSuperseded || v.Detail != "superseded by version 2" || v.Current != 2 {
		t.Errorf("reprinted card's old version: %+v", v)
	}
	_, qrA2 := r.validCard("lakshmi-1")
	if v := verify(qrA2); v.Status != "valid" || v.Version != 2 {
		t.Errorf("reprinted card: %+v", v)
	}
	if _, err := r.s.RevokeCard(ctx, hidA, store.ReasonLost, "desk"); err != nil {
		t.Fatal(err)
	}
	if v := verify(qrA2); v.Status != "invalid" || v.Reason != cards.ReasonRevokedCard || !strings.Contains(v.Detail, "lost") {
		t.Errorf("revoked card: %+v", v)
	}

	// A supervisor merges the two: the merged person's card names the
	// survivor.
	if _, err := r.s.DecideReview(ctx, task.ID, store.DecisionSame, "asha"); err != nil {
		t.Fatal(err)
	}
	survivorHID, mergedQR := hidA, qrB
	if r.personOf("lakshmi-1") != r.personOf("lakshmi-2") {
		t.Fatal("not merged")
	}
	v = verify(mergedQR)
	if v.Status != "invalid" || v.Reason != store.ReasonMergedCard || v.MergedInto != survivorHID || v.HealthID != survivorHID ||
		v.Detail != "merged into "+survivorHID {
		t.Errorf("merged card (%s into %s): %+v", hidB, survivorHID, v)
	}
}

// forged signs a card with a key the registry never published.
func forged(t *testing.T, hid, name string) string {
	t.Helper()
	key, err := cards.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := cards.ParseHealthID(hid)
	if err != nil {
		t.Fatal(err)
	}
	qr, err := cards.Sign(cards.Claims{Issuer: "forger", IssuedAt: time.Now().Truncate(time.Second), HealthID: id, Name: name,
		DOB: "1990", Sex: "F", Serial: "CFORGED", CardVersion: 1}, key)
	if err != nil {
		t.Fatal(err)
	}
	return qr
}

// A merged health ID answers with its survivor for the hospital API, and
// as itself, pointing at the survivor, when asked not to follow.
func TestReadPersonFollowsMerges(t *testing.T) {
	ctx := context.Background()
	r, task := reviewCase(t)
	hidA, _ := r.validCard("lakshmi-1")
	hidB, _ := r.validCard("lakshmi-2")
	if _, err := r.s.DecideReview(ctx, task.ID, store.DecisionSame, "asha"); err != nil {
		t.Fatal(err)
	}
	p, err := r.s.ReadPerson(ctx, hospitalDesk, "person.read", strings.ReplaceAll(hidB, "-", ""), true)
	if err != nil {
		t.Fatal(err)
	}
	if p.HealthID != hidA || p.Status != "active" || !slices.Contains(p.Aliases, hidB) || p.Name != "Lakshmi Verma" ||
		p.Enrolments != 2 || p.Card == nil || p.Card.Status == store.CardRevoked || p.Address.Pincode == "" {
		t.Errorf("merged ID, followed: %+v", p)
	}
	m, err := r.s.ReadPerson(ctx, hospitalDesk, "fhir.read", hidB, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.HealthID != hidB || m.Status != "merged" || m.MergedInto != hidA || m.Card == nil || m.Card.Status != store.CardRevoked {
		t.Errorf("merged ID, not followed: %+v", m)
	}
	// Both reads are in the survivor's log, under what was asked for.
	log, err := r.s.AuditLog(ctx, hidB)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Action != "person.read" || log[0].Detail != "asked for "+hidB || log[1].Action != "fhir.read" {
		t.Errorf("audit log: %+v", log)
	}

	_, err = r.s.ReadPerson(ctx, hospitalDesk, "person.read", "1234-5678-9012-30", true)
	if schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("unknown health ID: %v, want not_found", err)
	}
	_, err = r.s.ReadPerson(ctx, hospitalDesk, "person.read", "not-an-id", true)
	if schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("malformed health ID: %v, want not_found", err)
	}
}

// No code path can change or delete what the audit log holds.
func TestAuditLogIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	r, _ := reviewCase(t)
	hid, qr := r.validCard("lakshmi-1")
	if _, err := r.s.VerifyCard(ctx, hospitalDesk, qr); err != nil {
		t.Fatal(err)
	}
	r.s.Close()
	db := testdb.OpenSQL(t, r.path())
	stmts := []string{`UPDATE audit_log SET token_name = 'someone else'`, `DELETE FROM audit_log`}
	if testdb.Postgres() {
		stmts = append(stmts, `TRUNCATE audit_log`)
	}
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", stmt, err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE health_id = ?`, strings.ReplaceAll(hid, "-", "")).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit rows %d (%v), want 1", n, err)
	}
}

// Following the feed from zero yields every event once, in order, and a
// copy rebuilt from it holds exactly the registry's persons, merges
// included; a long poll wakes when a new person is made.
func TestFeedFollowsRegistry(t *testing.T) {
	ctx := context.Background()
	r, task := reviewCase(t)
	if _, err := r.s.DecideReview(ctx, task.ID, store.DecisionSame, "asha"); err != nil {
		t.Fatal(err)
	}
	var events []store.Event
	var cursor int64
	for {
		page, err := r.s.Feed(ctx, hospitalDesk, cursor, 97, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			if page.Next != cursor {
				t.Fatalf("empty page moved the cursor from %d to %d", cursor, page.Next)
			}
			break
		}
		events = append(events, page.Events...)
		cursor = page.Next
	}
	state := map[string]string{} // health ID → status
	kinds := map[string]int{}
	for i, e := range events {
		if i > 0 && e.Seq <= events[i-1].Seq {
			t.Fatalf("event %d after %d", e.Seq, events[i-1].Seq)
		}
		kinds[e.Kind]++
		if e.Person != nil {
			state[e.HealthID] = e.Person.Status
		}
		if strings.HasPrefix(e.Kind, "card.") && (e.Card == nil || e.Card.Serial == "") {
			t.Errorf("card event without its card: %+v", e)
		}
	}
	if kinds[store.EventPersonMerged] != 1 || kinds[store.EventCardRevoked] != 1 || kinds[store.EventPersonCreated] != kinds[store.EventCardIssued] {
		t.Errorf("event kinds: %v", kinds)
	}
	var want []string
	rows, err := r.db.Query(`SELECT h.health_id FROM persons p JOIN health_ids h ON h.person_id = p.id WHERE p.status = 'active'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		hid, _ := cards.ParseHealthID(id)
		want = append(want, hid.String())
	}
	rows.Close()
	var got []string
	for id, status := range state {
		if status == "active" {
			got = append(got, id)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("feed copy has %d active persons, registry %d", len(got), len(want))
	}

	// Long poll: nothing after the cursor until a new person is matched.
	done := make(chan store.FeedPage, 1)
	go func() {
		page, err := r.s.Feed(ctx, hospitalDesk, cursor, 0, 20*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- page
	}()
	time.Sleep(50 * time.Millisecond)
	r.sync("team-c", 1, home("hh-new", "H.No. 1", "Kalkaji", "110019", person("ramesh-new", "Ramesh Gupta", "M", "1971-02-03")))
	select {
	case page := <-done:
		if len(page.Events) == 0 || page.Events[0].Kind != store.EventPersonCreated || page.Events[0].Person.Name != "Ramesh Gupta" {
			t.Errorf("long poll woke with %+v", page)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll did not wake for a new person")
	}
}

// A feed page that cannot be read whole returns an error and audits
// nothing: the read and its audit commit together.
func TestAuditedReadRollsBackAlone(t *testing.T) {
	ctx := context.Background()
	r, _ := reviewCase(t)
	hid, _ := r.validCard("lakshmi-1")
	_, err := r.s.ReadPerson(ctx, store.Reader{Client: "x"}, "person.read", hid, true)
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("read without a token: %v, want refused", err)
	}
	if n := r.auditCount(hid); n != 0 {
		t.Errorf("%d audit records after a refused read", n)
	}
}

// A household's new address changes what the registry shows of its
// members' persons: the feed reports each as updated.
func TestFeedHearsOfAHouseholdMove(t *testing.T) {
	ctx := context.Background()
	r, _ := reviewCase(t)
	before, err := r.s.Feed(ctx, hospitalDesk, 0, store.MaxFeedPage, 0)
	if err != nil {
		t.Fatal(err)
	}
	cursor := before.Next
	for {
		page, err := r.s.Feed(ctx, hospitalDesk, cursor, store.MaxFeedPage, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			break
		}
		cursor = page.Next
	}
	hid, _ := r.validCard("lakshmi-1")
	moved := home("hh-lakshmi-1", "Flat 7, Pocket B", "Mayur Vihar", "110091")
	r.send("team-a", records(2, moved)[:1])
	r.match()
	page, err := r.s.Feed(ctx, hospitalDesk, cursor, store.MaxFeedPage, 0)
	if err != nil {
		t.Fatal(err)
	}
	var updated *store.Person
	for _, e := range page.Events {
		if e.Kind == store.EventPersonUpdated && e.HealthID == hid {
			updated = e.Person
		}
	}
	if updated == nil || updated.Address.Line1 != "Flat 7, Pocket B" {
		t.Fatalf("after the household moved the feed said %+v", page.Events)
	}
}

// A card signed with a key the operator has since retired no longer
// verifies, even though its signature is genuine; cards signed after the
// rotation do.
func TestVerifyCardRetiredKey(t *testing.T) {
	ctx := context.Background()
	r, _ := reviewCase(t)
	_, oldQR := r.validCard("lakshmi-1")
	if v, err := r.s.VerifyCard(ctx, hospitalDesk, oldQR); err != nil || v.Status != "valid" {
		t.Fatalf("before rotation: %+v %v", v, err)
	}
	// `syncserver keys rotate` and `keys retire` run in another process.
	ring, err := cards.OpenKeyRing(r.s.CardKeys().Dir())
	if err != nil {
		t.Fatal(err)
	}
	old, err := ring.Active()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Retire(old.ID()); err != nil {
		t.Fatal(err)
	}
	// keys.json's modification time is how the store notices; make sure
	// it moves even on a coarse clock.
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(filepath.Join(r.s.CardKeys().Dir(), "keys.json"), later, later); err != nil {
		t.Fatal(err)
	}
	v, err := r.s.VerifyCard(ctx, hospitalDesk, oldQR)
	if err != nil || v.Status != "invalid" || v.Reason != cards.ReasonRetiredKey {
		t.Errorf("card signed with a retired key: %+v %v", v, err)
	}
	hid, _ := r.validCard("lakshmi-1")
	if _, err := r.s.Reprint(ctx, hid, store.ReasonCorrected, "desk"); err != nil {
		t.Fatal(err)
	}
	_, newQR := r.validCard("lakshmi-1")
	if v, err := r.s.VerifyCard(ctx, hospitalDesk, newQR); err != nil || v.Status != "valid" || v.Version != 2 {
		t.Errorf("card signed after the rotation: %+v %v", v, err)
	}
}
