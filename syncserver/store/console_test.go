package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/testkit"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

var consoleSupervisor = store.Reader{
	Principal: store.Principal{TokenID: "tok-sup", Name: "asha-supervisor", Role: schema.RoleSupervisor},
	Client:    "127.0.0.1",
}

// reopen closes r's store and opens its file again with opts.
func (r *registry) reopen(opts ...store.Option) {
	r.t.Helper()
	if err := r.s.Close(); err != nil {
		r.t.Fatal(err)
	}
	s, err := store.Open(context.Background(), r.file, append([]store.Option{store.WithKeysDir(r.keys)}, opts...)...)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { s.Close() })
	r.s = s
}

// inArea moves a household to area, with outcome and, unless enrolled,
// nobody enrolled.
func inArea(h schema.Household, area, outcome string) schema.Household {
	h.Area, h.Outcome = area, outcome
	if outcome != schema.OutcomeEnrolled {
		h.Members = nil
	}
	return h
}

// printAll prints and confirms every printable queued card of centre.
func (r *registry) printAll(centre string) {
	r.t.Helper()
	ctx := context.Background()
	job, err := r.s.CreatePrintJob(ctx, centre, 1000, "printer")
	if err != nil {
		r.t.Fatalf("print job for %s: %v", centre, err)
	}
	if _, err := r.s.ConfirmPrintJob(ctx, job.ID, "printer"); err != nil {
		r.t.Fatal(err)
	}
}

// Progress counts each area's and laptop's households by outcome (only
// live ones), residents, persons, duplicates (a re-enrolment, however it
// was joined) and persons whose current card is printed, and flags a
// laptop silent for more than a day.
func TestProgress(t *testing.T) {
	ctx := context.Background()
	const north, south = "TS-N-W01", "TS-S-W02"
	r := populated(t)
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	clock := testkit.NewClock(t0)
	r.reopen(store.WithClock(clock.Now))

	lakshmi := person("lakshmi-n", "Lakshmi Verma", "F", "1990-06-30", spouse("Dinesh Verma"), phone("+919899887766"))
	dinesh := func(id string) schema.Resident {
		return person(id, "Dinesh Verma", "M", "1986-01-20", spouse("Lakshmi Verma"), father("Ramesh Verma"), phone("+919899887766"))
	}
	r.sync("team-n", 1,
		inArea(home("hh-n1", "H.No. 9, Gali 4", "Trilokpuri", "110091", lakshmi, dinesh("dinesh-n")), north, schema.OutcomeEnrolled),
		inArea(home("hh-n2", "H.No. 10, Gali 4", "Trilokpuri", "110091"), north, schema.OutcomeLocked),
		inArea(home("hh-n3", "H.No. 11, Gali 4", "Trilokpuri", "110091"), north, schema.OutcomeRefused),
		inArea(home("hh-n4", "H.No. 12, Gali 4", "Trilokpuri", "110091"), north, schema.OutcomeRevisit),
		inArea(home("hh-n5", "H.No. 13, Gali 4", "Trilokpuri", "110091"), north, schema.OutcomeRevisit))
	r.send("team-n", []schema.Record{{Kind: schema.KindHousehold, ID: "hh-n5", Version: 2, Deleted: true}})

	// A day and more later, only the south team syncs. Dinesh, enrolled
	// again there, is one person with his first enrolment whether the
	// matcher linked him or a supervisor had to.
	clock.Advance(25 * time.Hour)
	// Lakshmi, moved and heard as Laxmi Varma with an age, is one the
	// matcher asks about: a supervisor's merge leaves both residents'
	// link "new", and she is a duplicate all the same.
	r.sync("team-s", 1,
		inArea(home("hh-s1", "H.No. 9, Gali 4", "Trilokpuri", "110091", dinesh("dinesh-s"),
			person("sunita-s", "Sunita Qadri", "F", "1992-02-02", relation("sister"))), south, schema.OutcomeEnrolled),
		inArea(home("hh-s2", "H.No. 2, Gali 1", "Kalyanpuri", "110091"), south, schema.OutcomeLocked),
		inArea(home("hh-s3", "D-14, Block D", "Sultanpuri", "110086", person("lakshmi-s", "Laxmi Varma", "F", "age 35")), south, schema.OutcomeEnrolled))
	for _, pair := range [][2]string{{"dinesh-n", "dinesh-s"}, {"lakshmi-n", "lakshmi-s"}} {
		if r.personOf(pair[0]) == r.personOf(pair[1]) {
			continue
		}
		task, ok := r.task(pair[0], pair[1])
		if !ok {
			t.Fatalf("%s enrolled again as %s is neither linked nor asked about", pair[0], pair[1])
		}
		if _, err := r.s.DecideReview(ctx, task.ID, store.DecisionSame, "asha"); err != nil {
			t.Fatal(err)
		}
	}
	// Every card printed, then Sunita's reprinted: her current card is
	// queued again, so she no longer counts as printed.
	r.printAll("TS-N")
	r.printAll("TS-S")
	if _, err := r.s.Reprint(ctx, "sunita-s", store.ReasonLost, "asha"); err != nil {
		t.Fatal(err)
	}
	// A laptop added but never registered, and one revoked.
	if _, _, err := r.s.AddDevice(ctx, "spare", south); err != nil {
		t.Fatal(err)
	}
	if err := r.s.RevokeDevice(ctx, r.device("old")); err != nil {
		t.Fatal(err)
	}

	p, err := r.s.Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(p.Areas, func(a, b store.AreaProgress) int { return strings.Compare(a.Area, b.Area) }) {
		t.Errorf("areas not sorted by name")
	}
	areas := map[string]store.AreaProgress{}
	for _, a := range p.Areas {
		areas[a.Area] = a
	}
	wantAreas := []store.AreaProgress{
		{Area: north, Households: store.VisitCounts{Enrolled: 1, Locked: 1, Refused: 1, Revisit: 1},
			Residents: 2, Persons: 2, Duplicates: 0, CardsPrinted: 2},
		{Area: south, Households: store.VisitCounts{Enrolled: 2, Locked: 1},
			Residents: 3, Persons: 3, Duplicates: 2, CardsPrinted: 2},
	}
	for _, want := range wantAreas {
		if got := areas[want.Area]; got != want {
			t.Errorf("area %s:\n got %+v\nwant %+v", want.Area, got, want)
		}
	}

	var names []string
	laptops := map[string]store.LaptopProgress{}
	for _, l := range p.Laptops {
		names = append(names, l.Name)
		laptops[l.Name] = l
	}
	if !slices.IsSorted(names) {
		t.Errorf("laptops not sorted by name: %v", names)
	}
	t1 := t0.Add(25 * time.Hour)
	tests := []struct {
		name            string
		households      store.VisitCounts
		residents       int64
		lastSync        *time.Time // nil: never synced
		silent, revoked bool
	}{
		{name: "team-n", households: store.VisitCounts{Enrolled: 1, Locked: 1, Refused: 1, Revisit: 1}, residents: 2, lastSync: &t0, silent: true},
		{name: "team-s", households: store.VisitCounts{Enrolled: 2, Locked: 1}, residents: 3, lastSync: &t1},
		{name: "spare", silent: true},
		{name: "old", revoked: true},
	}
	for _, tt := range tests {
		l, ok := laptops[tt.name]
		if !ok {
			t.Errorf("laptop %s not listed (laptops %v)", tt.name, names)
			continue
		}
		if l.Households != tt.households || l.Residents != tt.residents || l.Silent != tt.silent || l.Revoked != tt.revoked {
			t.Errorf("laptop %s: %+v, want households %+v residents %d silent %v revoked %v",
				tt.name, l, tt.households, tt.residents, tt.silent, tt.revoked)
		}
		if (tt.lastSync == nil) != (l.LastSync == nil) || (l.LastSync != nil && !l.LastSync.Equal(*tt.lastSync)) {
			t.Errorf("laptop %s last sync %v, want %v", tt.name, l.LastSync, tt.lastSync)
		}
	}
	if l := laptops["spare"]; l.Area != south {
		t.Errorf("spare laptop's area %q, want %q", l.Area, south)
	}

	// The areas' residents add up to the registry's.
	var residents int64
	for _, a := range p.Areas {
		residents += a.Residents
	}
	if st := r.stats(); residents != st.Residents {
		t.Errorf("areas hold %d residents, the registry %d", residents, st.Residents)
	}
}

// Enrolments per day list every day of the window, empty ones included,
// each counting the live households visited that day (as the surveyor's
// laptop dated them) and their live residents.
func TestEnrolmentsPerDay(t *testing.T) {
	ctx := context.Background()
	ist := time.FixedZone("IST", 5*3600+1800)
	clock := testkit.NewClock(time.Date(2026, 3, 5, 10, 0, 0, 0, ist))
	s := MustOpen(t, store.WithClock(clock.Now))
	dev, _ := mustDevice(t, s, "team-7")
	visited := func(at, outcome string) func(*schema.Household) {
		return func(h *schema.Household) { h.VisitedAt, h.Outcome = at, outcome }
	}
	res := mustApply(t, s, dev, batch(dev,
		household("h1", 1, visited("2026-03-02T09:15:00+05:30", schema.OutcomeEnrolled)),
		resident("r1", "h1", 1, nil),
		resident("r2", "h1", 1, nil),
		resident("r5", "h1", 1, nil),
		household("h2", 1, visited("2026-03-02T18:40:00+05:30", schema.OutcomeLocked)),
		// 2 a.m. in India is the day before in UTC: the surveyor's date counts.
		household("h3", 1, visited("2026-03-05T02:00:00+05:30", schema.OutcomeEnrolled)),
		resident("r3", "h3", 1, nil),
		household("h4", 1, visited("2026-03-03T10:00:00+05:30", schema.OutcomeEnrolled)),
		resident("r4", "h4", 1, nil),
		household("h5", 1, visited("2026-02-20T10:00:00+05:30", schema.OutcomeEnrolled)),
		resident("r6", "h5", 1, nil),
	))
	for _, rr := range res.Results {
		if rr.Status == schema.StatusRejected {
			t.Fatalf("%s %s rejected: %s %s", rr.Kind, rr.ID, rr.Field, rr.Message)
		}
	}
	mustApply(t, s, dev, batch(dev,
		schema.Record{Kind: schema.KindResident, ID: "r5", Version: 2, Deleted: true},
		schema.Record{Kind: schema.KindResident, ID: "r4", Version: 2, Deleted: true},
		schema.Record{Kind: schema.KindHousehold, ID: "h4", Version: 2, Deleted: true},
	))

	tests := []struct {
		days int
		want []store.DayCount // the last days of the answer
		len  int
		sum  int64 // households in the whole window
	}{
		{days: 5, len: 5, sum: 3, want: []store.DayCount{
			{Day: "2026-03-01"},
			{Day: "2026-03-02", Households: 2, Enrolled: 1, Residents: 2},
			{Day: "2026-03-03"},
			{Day: "2026-03-04"},
			{Day: "2026-03-05", Households: 1, Enrolled: 1, Residents: 1},
		}},
		{days: 1, len: 1, sum: 1, want: []store.DayCount{{Day: "2026-03-05", Households: 1, Enrolled: 1, Residents: 1}}},
		{days: 366, len: 366, sum: 4, want: []store.DayCount{{Day: "2026-03-05", Households: 1, Enrolled: 1, Residents: 1}}},
	}
	for _, tt := range tests {
		got, err := s.EnrolmentsPerDay(ctx, tt.days)
		if err != nil {
			t.Fatalf("%d days: %v", tt.days, err)
		}
		if len(got) != tt.len {
			t.Errorf("%d days: %d answered", tt.days, len(got))
			continue
		}
		if tail := got[len(got)-len(tt.want):]; !slices.Equal(tail, tt.want) {
			t.Errorf("%d days:\n got %+v\nwant %+v", tt.days, tail, tt.want)
		}
		var sum int64
		for i, d := range got {
			sum += d.Households
			if i > 0 && d.Day <= got[i-1].Day {
				t.Errorf("%d days: %s after %s", tt.days, d.Day, got[i-1].Day)
			}
		}
		if sum != tt.sum {
			t.Errorf("%d days: %d households in all, want %d", tt.days, sum, tt.sum)
		}
	}
	if got, _ := s.EnrolmentsPerDay(ctx, 366); got[0].Day != "2025-03-05" {
		t.Errorf("366 days start on %s, want 2025-03-05", got[0].Day)
	}

	for _, days := range []int{0, -3, 367} {
		_, err := s.EnrolmentsPerDay(ctx, days)
		if e, ok := err.(*schema.Error); !ok || e.Code != schema.EINVALID || e.Field != "days" {
			t.Errorf("%d days: %v, want invalid days", days, err)
		}
	}
}

// healthIDs lists the health IDs of a search's answer.
func healthIDs(ps []store.PersonSummary) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.HealthID)
	}
	return out
}

// A search by name finds the persons whose enrolments contain the typed
// text, ignoring case and with % and _ as themselves; a search by health
// ID finds its holder; each person shown is an audited read.
func TestSearchPersons(t *testing.T) {
	ctx := context.Background()
	r, task := reviewCase(t)
	hidA, _ := r.validCard("lakshmi-1")
	hidB, _ := r.validCard("lakshmi-2")
	hidDinesh, _ := r.validCard("dinesh-1")

	tests := []struct {
		query     string
		limit     int
		want, not []string // health IDs found, not found
		only      bool     // want is the whole answer
		code      string
		rule      string
	}{
		{query: "Lakshmi Verma", want: []string{hidA}, not: []string{hidB, hidDinesh}},
		{query: "laxmi varma", want: []string{hidB}, not: []string{hidA}},
		{query: "  LAXMI   Varma ", want: []string{hidB}, not: []string{hidA}},
		{query: "Verma", want: []string{hidA, hidDinesh}, not: []string{hidB}},
		{query: "kshmi ver", want: []string{hidA}, not: []string{hidB}},
		{query: "V_rma", only: true},  // _ is itself, not any one letter
		{query: "a%", only: true},     // % is itself
		{query: `Verma\`, only: true}, // so is \
		{query: hidA, want: []string{hidA}, only: true},
		{query: strings.ReplaceAll(hidB, "-", ""), want: []string{hidB}, only: true},
		{query: "1234-5678-9012-30", only: true}, // a health ID nobody holds
		{query: "1234-5678-9012-31", code: schema.EINVALID, rule: "check_digit"},
		{query: "12345", code: schema.EINVALID, rule: "length"},
		{query: "L", code: schema.EINVALID, rule: "min_length"},
		{query: "  ", code: schema.EINVALID, rule: "min_length"},
		{query: "%", code: schema.EINVALID, rule: "min_length"},
	}
	for _, tt := range tests {
		got, err := r.s.SearchPersons(ctx, tt.query, tt.limit)
		if tt.code != "" {
			e, ok := err.(*schema.Error)
			if !ok || e.Code != tt.code || e.Field != "q" || e.Rule != tt.rule {
				t.Errorf("%q: %v, want %s q (%s)", tt.query, err, tt.code, tt.rule)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.query, err)
			continue
		}
		ids := healthIDs(got)
		for _, w := range tt.want {
			if !slices.Contains(ids, w) {
				t.Errorf("%q: %v, want %s among them", tt.query, ids, w)
			}
		}
		for _, n := range tt.not {
			if slices.Contains(ids, n) {
				t.Errorf("%q: %v, want no %s", tt.query, ids, n)
			}
		}
		if tt.only && len(ids) != len(tt.want) {
			t.Errorf("%q: %v, want just %v", tt.query, ids, tt.want)
		}
	}

	// Limits: as asked, capped, defaulted.
	for _, tt := range []struct{ limit, max int }{{3, 3}, {1000, store.MaxSearchLimit}, {0, store.DefaultSearchLimit}} {
		got, err := r.s.SearchPersons(ctx, "an", tt.limit)
		if err != nil || len(got) == 0 || len(got) > tt.max {
			t.Errorf("limit %d: %d found (%v), want 1 to %d", tt.limit, len(got), err, tt.max)
		}
	}

	if n := r.auditCount(hidB); n != 0 {
		t.Fatalf("%d audit records of searches without a reader", n)
	}
	// Searching as a supervisor audits each person shown.
	got, err := r.s.SearchPersons(store.WithReader(ctx, consoleSupervisor), "Laxmi Varma", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, hid := range healthIDs(got) {
		log, err := r.s.AuditLog(ctx, hid)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 1 || log[0].Action != "console.search" || log[0].TokenName != consoleSupervisor.Name ||
			log[0].Role != schema.RoleSupervisor || log[0].HealthID != hid {
			t.Errorf("audit log of %s: %+v", hid, log)
		}
	}

	// Once merged, Laxmi's ID finds her merged person, pointing at the
	// survivor, and her spelling finds the survivor.
	if _, err := r.s.DecideReview(ctx, task.ID, store.DecisionSame, "asha"); err != nil {
		t.Fatal(err)
	}
	got, err = r.s.SearchPersons(ctx, hidB, 0)
	if err != nil || len(got) != 1 || got[0].Status != "merged" || got[0].MergedInto != hidA {
		t.Errorf("merged ID: %+v (%v), want merged into %s", got, err, hidA)
	}
	got, err = r.s.SearchPersons(ctx, "Laxmi Varma", 0)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(healthIDs(got), hidA); i < 0 || got[i].Enrolments != 2 || got[i].Status != "active" {
		t.Errorf("Laxmi Varma after the merge: %+v, want %s with 2 enrolments", got, hidA)
	} else if slices.Contains(healthIDs(got), hidB) {
		t.Errorf("Laxmi Varma after the merge still finds the merged %s", hidB)
	}
}

// A person's page lists its enrolments, card versions and the audit
// trail of its reads, the page's own read included, under every ID
// merged into it.
func TestPersonDetail(t *testing.T) {
	ctx := context.Background()
	r, task := reviewCase(t)
	hidA, _ := r.validCard("lakshmi-1")
	hidB, _ := r.validCard("lakshmi-2")
	if _, err := r.s.DecideReview(ctx, task.ID, store.DecisionSame, "asha"); err != nil {
		t.Fatal(err)
	}
	sup := store.WithReader(ctx, consoleSupervisor)

	merged, err := r.s.PersonDetail(sup, hidB)
	if err != nil {
		t.Fatal(err)
	}
	if merged.Person.HealthID != hidB || merged.Person.Status != "merged" || merged.Person.MergedInto != hidA ||
		len(merged.Enrolments) != 0 || len(merged.Cards) == 0 || merged.Cards[0].Status != store.CardRevoked {
		t.Errorf("merged ID: %+v", merged)
	}

	d, err := r.s.PersonDetail(sup, strings.ReplaceAll(hidA, "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d.Person.HealthID != hidA || d.Person.Status != "active" || !slices.Contains(d.Person.Aliases, hidB) || d.Person.Enrolments != 2 {
		t.Errorf("person: %+v", d.Person)
	}
	wantEnrolments := []store.Enrolment{
		{ResidentID: "lakshmi-1", HouseholdID: "hh-lakshmi-1", Device: "team-a", Link: "new", Name: "Lakshmi Verma", Sex: "F",
			DOB: "1990-06-30", Address: "H.No. 9, Gali 4, Trilokpuri, Delhi, 110091", Area: "DL-NE-W02", VisitedAt: visitAt},
		{ResidentID: "lakshmi-2", HouseholdID: "hh-lakshmi-2", Device: "team-b", Link: "new", Name: "Laxmi Varma", Sex: "F",
			DOB: "1991", Address: "D-14, Block D, Sultanpuri, Delhi, 110086", Area: "DL-NE-W02", VisitedAt: visitAt},
	}
	if !slices.Equal(d.Enrolments, wantEnrolments) {
		t.Errorf("enrolments:\n got %+v\nwant %+v", d.Enrolments, wantEnrolments)
	}
	if len(d.Cards) == 0 || d.Cards[0].Status == store.CardRevoked || d.Cards[0].HealthID != strings.ReplaceAll(hidA, "-", "") {
		t.Errorf("cards: %+v, want the valid card of %s first", d.Cards, hidA)
	}
	for i := 1; i < len(d.Cards); i++ {
		if d.Cards[i].Version >= d.Cards[i-1].Version {
			t.Errorf("cards not newest first: %+v", d.Cards)
		}
	}
	// Both reads, under the ID each asked for, in the survivor's trail.
	var trail []string
	for _, a := range d.Audit {
		trail = append(trail, a.Action+" "+a.HealthID+" "+a.TokenName)
	}
	wantTrail := []string{"console.person " + hidB + " asha-supervisor", "console.person " + hidA + " asha-supervisor"}
	if !slices.Equal(trail, wantTrail) {
		t.Errorf("audit trail %q, want %q", trail, wantTrail)
	}

	// The command line reads without a reader: nothing is added.
	if d, err := r.s.PersonDetail(ctx, hidA); err != nil || len(d.Audit) != 2 {
		t.Errorf("unaudited read: %d audit records (%v), want 2", len(d.Audit), err)
	}

	for _, hid := range []string{"1234-5678-9012-30", "1234-5678-9012-31", "not-an-id", ""} {
		_, err := r.s.PersonDetail(sup, hid)
		if schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Errorf("%q: %v, want not_found", hid, err)
		}
	}
}
