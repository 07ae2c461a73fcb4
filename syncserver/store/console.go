package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
)

// What the supervisor console shows beyond the API: enrolment progress,
// enrolments per day, and people found by name or health ID.

// SilentAfter is how long a laptop that is not revoked may go without
// syncing before the console highlights it.
const SilentAfter = 24 * time.Hour

// Limits of the console's queries.
const (
	MaxChartDays        = 366 // EnrolmentsPerDay
	DefaultSearchLimit  = 50  // SearchPersons, when limit <= 0
	MaxSearchLimit      = 200 // SearchPersons
	minSearchNameLength = 2   // characters, after trimming
)

// Progress is enrolment progress per survey area and per laptop.
type Progress struct {
	Areas   []AreaProgress   `json:"areas"`
	Laptops []LaptopProgress `json:"laptops"`
}

// VisitCounts counts live households visited, by outcome.
type VisitCounts struct {
	Enrolled int64 `json:"enrolled"`
	Locked   int64 `json:"locked"`
	Refused  int64 `json:"refused"`
	Revisit  int64 `json:"revisit"`
}

// Total is every household visited, whatever the outcome.
func (v VisitCounts) Total() int64 { return v.Enrolled + v.Locked + v.Refused + v.Revisit }

func (v *VisitCounts) add(outcome string, n int64) {
	switch outcome {
	case schema.OutcomeEnrolled:
		v.Enrolled += n
	case schema.OutcomeLocked:
		v.Locked += n
	case schema.OutcomeRefused:
		v.Refused += n
	case schema.OutcomeRevisit:
		v.Revisit += n
	}
}

// AreaProgress is one survey area (households.area, e.g. DL-NW-W05). Its
// residents are the live residents of its households (live or not, so the
// areas' residents add up to Stats.Residents); a person with enrolments in
// two areas counts as a person of both.
type AreaProgress struct {
	Area       string      `json:"area"`
	Households VisitCounts `json:"households"`
	Residents  int64       `json:"residents"`
	Persons    int64       `json:"persons"` // distinct persons of the area's residents
	// Duplicates counts the area's residents that are not the first live
	// enrolment (in arrival order) of their person: re-enrolments the
	// matcher linked, or a supervisor merged. It is not residents.link !=
	// 'new': a merge moves residents without rewriting their link, and a
	// resident split off by unmerge gets link 'manual' though it is nobody's
	// duplicate.
	Duplicates int64 `json:"duplicates"`
	// CardsPrinted counts the area's persons whose current card (the one
	// version not revoked) is printed, dispatched or delivered. A person
	// whose card was reprinted counts again once the new version is printed.
	CardsPrinted int64 `json:"cards_printed"`
}

// LaptopProgress is one registered laptop: the households and residents
// it sent (live ones) and when it last synced.
type LaptopProgress struct {
	DeviceID   string      `json:"device_id"`
	Name       string      `json:"name"`
	Area       string      `json:"area"` // the area it was added for
	Households VisitCounts `json:"households"`
	Residents  int64       `json:"residents"`
	LastSync   *time.Time  `json:"last_sync,omitempty"`
	Silent     bool        `json:"silent"` // no sync for more than SilentAfter (or never), and not revoked
	Revoked    bool        `json:"revoked"`
}

// DayCount is how many households were visited and residents enrolled on
// one day (the household's visited_at date, in its own offset).
type DayCount struct {
	Day        string `json:"day"`        // YYYY-MM-DD
	Households int64  `json:"households"` // visited, whatever the outcome
	Enrolled   int64  `json:"enrolled"`   // of which with outcome enrolled
	Residents  int64  `json:"residents"`  // live residents of those households
}

// PersonSummary is one line of a person search: the person as personView
// shows it.
type PersonSummary struct {
	HealthID   string `json:"health_id"`
	Name       string `json:"name"`
	Sex        string `json:"sex"`
	DOB        string `json:"dob"`
	Area       string `json:"area"`
	Status     string `json:"status"`
	MergedInto string `json:"merged_into,omitempty"` // a merged person's survivor
	Enrolments int    `json:"enrolments"`
}

// PersonDetail is everything the console shows of one person.
type PersonDetail struct {
	Person     Person        `json:"person"`
	Enrolments []Enrolment   `json:"enrolments"`
	Cards      []CardInfo    `json:"cards"` // newest version first
	Audit      []AuditRecord `json:"audit"` // oldest first
}

// Enrolment is one resident record of a person, with where it came from.
type Enrolment struct {
	ResidentID  string `json:"resident_id"`
	HouseholdID string `json:"household_id"`
	Device      string `json:"device"` // the laptop's name
	Link        string `json:"link"`   // new, auto, review, manual
	Name        string `json:"name"`
	Sex         string `json:"sex"`
	DOB         string `json:"dob"`
	Address     string `json:"address"` // one line
	Area        string `json:"area"`
	VisitedAt   string `json:"visited_at"`
}

// Progress counts enrolment progress per area (sorted by area) and per
// laptop (sorted by name, every laptop, including those that sent nothing
// yet). It reads one snapshot with four grouped queries, whatever the
// number of areas; their cost grows with the residents (about 5 µs each:
// some 5 s a million), the join of each to its household's area.
func (s *Store) Progress(ctx context.Context) (Progress, error) {
	tx, err := s.rdb.BeginTx(ctx, s.readTxOptions())
	if err != nil {
		return Progress{}, fmt.Errorf("progress: %w", err)
	}
	defer tx.Rollback()
	p, err := progress(ctx, tx, s.now())
	if err != nil {
		return Progress{}, fmt.Errorf("progress: %w", err)
	}
	return p, nil
}

func progress(ctx context.Context, tx *sql.Tx, now time.Time) (Progress, error) {
	p := Progress{Areas: []AreaProgress{}, Laptops: []LaptopProgress{}}

	rows, err := tx.QueryContext(ctx, `SELECT id, name, area, last_sync_at, revoked_at FROM devices ORDER BY name, id`)
	if err != nil {
		return p, err
	}
	laptop := map[string]*LaptopProgress{}
	for rows.Next() {
		var l LaptopProgress
		var synced, revoked sql.NullString
		if err := rows.Scan(&l.DeviceID, &l.Name, &l.Area, &synced, &revoked); err != nil {
			rows.Close()
			return p, err
		}
		l.LastSync = parseTime(synced)
		l.Revoked = revoked.Valid
		l.Silent = !l.Revoked && (l.LastSync == nil || now.Sub(*l.LastSync) > SilentAfter)
		p.Laptops = append(p.Laptops, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}
	for i := range p.Laptops {
		laptop[p.Laptops[i].DeviceID] = &p.Laptops[i]
	}

	areas := map[string]*AreaProgress{}
	area := func(name string) *AreaProgress {
		a, ok := areas[name]
		if !ok {
			a = &AreaProgress{Area: name}
			areas[name] = a
		}
		return a
	}

	// Households by area, laptop and outcome: one pass over the table
	// serves both views.
	rows, err = tx.QueryContext(ctx, `SELECT area, device_id, COALESCE(json_extract(data, '$.outcome'), ''), COUNT(*)
		FROM households WHERE deleted = 0 GROUP BY 1, 2, 3`)
	if err != nil {
		return p, err
	}
	for rows.Next() {
		var a, device, outcome string
		var n int64
		if err := rows.Scan(&a, &device, &outcome, &n); err != nil {
			rows.Close()
			return p, err
		}
		area(a).Households.add(outcome, n)
		if l := laptop[device]; l != nil {
			l.Households.add(outcome, n)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}

	// Residents by area. nth numbers each person's live residents in
	// arrival order (residents_person holds them in that order, so no
	// sort): all but the first are duplicates, counted in the area of the
	// later enrolment. Pending residents (no person yet) share the NULL
	// partition and count as residents only.
	rows, err = tx.QueryContext(ctx, `WITH live AS (
			SELECT household_id, person_id, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY rowid) AS nth
			FROM residents WHERE deleted = 0
		)
		SELECT h.area, COUNT(*), COUNT(DISTINCT l.person_id),
			COALESCE(SUM(CASE WHEN l.person_id IS NOT NULL AND l.nth > 1 THEN 1 ELSE 0 END), 0),
			COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM cards c WHERE c.person_id = l.person_id
				AND c.status IN ('printed', 'dispatched', 'delivered')) THEN l.person_id END)
		FROM live l JOIN households h ON h.id = l.household_id
		GROUP BY h.area`)
	if err != nil {
		return p, err
	}
	for rows.Next() {
		var name string
		var residents, persons, dups, printed int64
		if err := rows.Scan(&name, &residents, &persons, &dups, &printed); err != nil {
			rows.Close()
			return p, err
		}
		a := area(name)
		a.Residents, a.Persons, a.Duplicates, a.CardsPrinted = residents, persons, dups, printed
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}

	// Residents by the laptop that sent them.
	rows, err = tx.QueryContext(ctx, `SELECT device_id, COUNT(*) FROM residents WHERE deleted = 0 GROUP BY device_id`)
	if err != nil {
		return p, err
	}
	for rows.Next() {
		var device string
		var n int64
		if err := rows.Scan(&device, &n); err != nil {
			rows.Close()
			return p, err
		}
		if l := laptop[device]; l != nil {
			l.Residents = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}

	for _, a := range areas {
		p.Areas = append(p.Areas, *a)
	}
	slices.SortFunc(p.Areas, func(a, b AreaProgress) int { return strings.Compare(a.Area, b.Area) })
	return p, nil
}

// EnrolmentsPerDay counts households visited and residents enrolled on
// each of the last days days, oldest first, ending today: every day is
// listed, with zeros where nobody was enrolled, so a chart has each day.
// A household's day is the date part of visited_at as the surveyor's
// laptop recorded it (in its own offset, +05:30 in the field); today is
// the date of s.now() in the server's time zone, so a server in India
// runs with TZ=Asia/Kolkata for the two to agree.
func (s *Store) EnrolmentsPerDay(ctx context.Context, days int) ([]DayCount, error) {
	if days <= 0 || days > MaxChartDays {
		return nil, &schema.Error{Code: schema.EINVALID, Field: "days", Rule: "range",
			Message: fmt.Sprintf("must be between 1 and %d, not %d", MaxChartDays, days)}
	}
	y, m, d := s.now().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(days - 1))
	out := make([]DayCount, days)
	index := make(map[string]int, days)
	for i := range out {
		out[i].Day = first.AddDate(0, 0, i).Format(time.DateOnly)
		index[out[i].Day] = i
	}

	// visited_at lives in the JSON, so this reads every live household; no
	// index serves it (about 1.5 µs a household: some 1.5 s a million). An
	// expression index on the day is the optimisation when that is too
	// slow, at a cost to every ingest.
	rows, err := s.rdb.QueryContext(ctx, `SELECT day, COUNT(*), COALESCE(SUM(CASE WHEN outcome = 'enrolled' THEN 1 ELSE 0 END), 0), COALESCE(SUM(residents), 0) FROM (
			SELECT substr(json_extract(h.data, '$.visited_at'), 1, 10) AS day, json_extract(h.data, '$.outcome') AS outcome,
				(SELECT COUNT(*) FROM residents r WHERE r.household_id = h.id AND r.deleted = 0) AS residents
			FROM households h WHERE h.deleted = 0
		) AS d WHERE day BETWEEN ? AND ? GROUP BY day`, out[0].Day, out[len(out)-1].Day)
	if err != nil {
		return nil, fmt.Errorf("enrolments per day: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c DayCount
		if err := rows.Scan(&c.Day, &c.Households, &c.Enrolled, &c.Residents); err != nil {
			return nil, fmt.Errorf("enrolments per day: %w", err)
		}
		// A malformed date (only a hand edit makes one) sorts inside the
		// range as text but is no day of it: skip it.
		if i, ok := index[c.Day]; ok {
			out[i] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enrolments per day: %w", err)
	}
	return out, nil
}

// SearchPersons finds persons by health ID or name, at most limit of them
// (DefaultSearchLimit when limit <= 0, never more than MaxSearchLimit).
//
// A query that reads as a health ID (dashed or not) finds the person who
// holds it; a merged ID finds the merged person, status merged, pointing
// at its survivor. A query of digits and dashes that is not a valid health
// ID is refused with the reason (a wrong check digit), rather than
// searched for as a name. Anything else is part of a name: persons with a
// live resident whose name contains it, ignoring ASCII case, active
// persons first, then by name. Residents the matcher has not reached yet
// have no person and are not found.
//
// Every person returned is a read of their data, audited as
// console.search when ctx carries a Reader.
func (s *Store) SearchPersons(ctx context.Context, query string, limit int) ([]PersonSummary, error) {
	q := strings.Join(strings.Fields(query), " ")
	switch {
	case limit <= 0:
		limit = DefaultSearchLimit
	case limit > MaxSearchLimit:
		limit = MaxSearchLimit
	}
	var (
		ids    []string // found, in the order shown
		detail string
		err    error
	)
	if hid, perr := cards.ParseHealthID(q); perr == nil {
		detail = "search by health ID"
		ids, err = queryStrings(ctx, s.rdb, `SELECT person_id FROM health_ids WHERE health_id = ?`, hid.Digits())
	} else if looksLikeHealthID(q) {
		e := &schema.Error{Code: schema.EINVALID, Field: "q", Rule: "health_id", Message: "is not a health ID: " + perr.Error()}
		var pe *schema.Error
		if errors.As(perr, &pe) {
			e.Rule, e.Message = pe.Rule, "is not a health ID: "+pe.Message
		}
		return nil, e
	} else {
		if utf8.RuneCountInString(q) < minSearchNameLength {
			return nil, &schema.Error{Code: schema.EINVALID, Field: "q", Rule: "min_length",
				Message: fmt.Sprintf("type at least %d letters of a name, or a health ID", minSearchNameLength)}
		}
		detail = "search by name"
		ids, err = s.personsNamed(ctx, q, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("search persons: %w", err)
	}
	out := []PersonSummary{}
	if len(ids) == 0 {
		return out, nil
	}
	// The search above ran on the read pool; only building what is shown,
	// and auditing it, runs in the audited transaction, so a long name
	// scan never holds the writer.
	err = s.readAs(ctx, func(rq querier, audit auditFunc) error {
		out = out[:0]
		for _, id := range ids {
			p, err := personView(ctx, rq, id)
			if err != nil {
				return err
			}
			out = append(out, PersonSummary{HealthID: p.HealthID, Name: p.Name, Sex: p.Sex, DOB: p.DOB, Area: p.Area,
				Status: p.Status, MergedInto: p.MergedInto, Enrolments: p.Enrolments})
			if err := audit("console.search", id, detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search persons: %w", err)
	}
	return out, nil
}

// looksLikeHealthID tells a mistyped health ID (digits, dashes, spaces)
// from a name.
func looksLikeHealthID(q string) bool {
	digits := 0
	for _, c := range q {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' || c == ' ':
		default:
			return false
		}
	}
	return digits > 0
}

// personsNamed returns the persons with a live resident whose name
// contains name, active first, then by the first of their matching names.
//
// A LIKE with a leading % cannot use an index, so this reads the name of
// every live resident (about 0.7 µs each: under a second a million),
// acceptable for a supervisor's search for now. An indexed name column, or
// an FTS5 trigram table, is the later optimisation.
func (s *Store) personsNamed(ctx context.Context, name string, limit int) ([]string, error) {
	pattern := "%" + likeEscaper.Replace(name) + "%"
	return queryStrings(ctx, s.rdb, `SELECT r.person_id FROM residents r JOIN persons p ON p.id = r.person_id
		WHERE r.deleted = 0 AND lower(json_extract(r.data, '$.name')) LIKE lower(?) ESCAPE '\'
		GROUP BY r.person_id, p.status
		ORDER BY p.status != 'active', MIN(json_extract(r.data, '$.name')), r.person_id
		LIMIT ?`, pattern, limit)
}

// likeEscaper makes typed text match itself in a LIKE ... ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// PersonDetail returns the person holding a health ID, with its
// enrolments (the live residents linked to it, in arrival order), its card
// versions (newest first) and the audit trail of reads of its data (its
// own and those under every ID merged into it, this read included). A
// merged ID shows the merged person, status merged: its residents and
// valid card moved to the survivor, its audit trail is the survivor's.
// The read is audited as console.person when ctx carries a Reader.
func (s *Store) PersonDetail(ctx context.Context, healthID string) (PersonDetail, error) {
	hid, err := cards.ParseHealthID(healthID)
	if err != nil {
		return PersonDetail{}, &schema.Error{Code: schema.ENOTFOUND, Field: "health_id", Rule: "format",
			Message: fmt.Sprintf("%q is not a health ID: %v", healthID, err)}
	}
	var d PersonDetail
	err = s.readAs(ctx, func(q querier, audit auditFunc) error {
		var person string
		err := q.QueryRowContext(ctx, `SELECT person_id FROM health_ids WHERE health_id = ?`, hid.Digits()).Scan(&person)
		if errors.Is(err, sql.ErrNoRows) {
			return &schema.Error{Code: schema.ENOTFOUND, Field: "health_id", Message: fmt.Sprintf("no person has health ID %s", hid)}
		}
		if err != nil {
			return err
		}
		if d.Person, err = personView(ctx, q, person); err != nil {
			return err
		}
		if d.Enrolments, err = enrolments(ctx, q, person); err != nil {
			return err
		}
		if d.Cards, err = cardsWhere(ctx, q, `person_id = ? ORDER BY version DESC`, person); err != nil {
			return err
		}
		if d.Cards == nil {
			d.Cards = []CardInfo{}
		}
		return audit("console.person", person, "")
	})
	if err != nil {
		return PersonDetail{}, fmt.Errorf("person detail %s: %w", hid, err)
	}
	// After the read committed, so the trail shows this read too.
	if d.Audit, err = s.AuditLog(ctx, hid.String()); err != nil {
		return PersonDetail{}, fmt.Errorf("person detail %s: %w", hid, err)
	}
	return d, nil
}

// enrolments lists the live residents of person with their households
// and the laptop that sent each, in arrival order.
func enrolments(ctx context.Context, q querier, person string) ([]Enrolment, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.id, COALESCE(r.household_id, ''), COALESCE(d.name, r.device_id), COALESCE(r.link, ''),
			r.data, COALESCE(h.data, '{}'), COALESCE(h.area, '')
		FROM residents r LEFT JOIN households h ON h.id = r.household_id LEFT JOIN devices d ON d.id = r.device_id
		WHERE r.person_id = ? AND r.deleted = 0 ORDER BY r.rowid`, person)
	if err != nil {
		return nil, fmt.Errorf("enrolments: %w", err)
	}
	defer rows.Close()
	out := []Enrolment{}
	for rows.Next() {
		var e Enrolment
		var rd, hd string
		if err := rows.Scan(&e.ResidentID, &e.HouseholdID, &e.Device, &e.Link, &rd, &hd, &e.Area); err != nil {
			return nil, fmt.Errorf("enrolments: %w", err)
		}
		var r schema.Resident
		if err := json.Unmarshal([]byte(rd), &r); err != nil {
			return nil, fmt.Errorf("enrolment %s: %w", e.ResidentID, err)
		}
		var h schema.Household
		if err := json.Unmarshal([]byte(hd), &h); err != nil {
			return nil, fmt.Errorf("enrolment %s: household: %w", e.ResidentID, err)
		}
		e.Name, e.Sex, e.DOB = r.Name, r.Sex, r.DOB
		e.Address, e.VisitedAt = h.Address.OneLine(), h.VisitedAt
		out = append(out, e)
	}
	return out, rows.Err()
}
