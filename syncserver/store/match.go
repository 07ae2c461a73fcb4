package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/match"
)

// personsTerm is the row of match_terms that counts active persons.
const personsTerm = "#persons"

// featureCacheSize bounds the cache of candidates' features: enough for
// the active part of a big registry, small enough for a server's memory.
const featureCacheSize = 200_000

// matcher is the store's matching state: the model in use and a cache of
// residents' features, so scoring a candidate does not decode its JSON
// again. Only the writer's transactions use it.
type matcher struct {
	mu    sync.Mutex
	model *match.Model
	opt   match.MatcherOptions
	cache map[string]cachedFeatures
	// observe, when set (benchmarks), hears each household's matching time
	// and how many residents it decided.
	observe func(d time.Duration, residents int)
}

type cachedFeatures struct {
	version int64
	f       *match.Features
}

// MatchReport counts what one MatchPending run decided.
type MatchReport struct {
	Residents int `json:"residents"`
	New       int `json:"new"`
	Linked    int `json:"linked"`
	Review    int `json:"review"`
	Unchanged int `json:"unchanged"`
	Removed   int `json:"removed"`
}

func (r *MatchReport) add(o MatchReport) {
	r.Residents += o.Residents
	r.New += o.New
	r.Linked += o.Linked
	r.Review += o.Review
	r.Unchanged += o.Unchanged
	r.Removed += o.Removed
}

// Model returns the matching model in use: the newest trained one, or the
// documented defaults.
func (s *Store) Model() *match.Model {
	s.match.mu.Lock()
	defer s.match.mu.Unlock()
	return s.match.model.Clone()
}

func (s *Store) loadModel(ctx context.Context) error {
	s.match.opt = match.MatcherOptions{}
	s.match.cache = make(map[string]cachedFeatures)
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT model FROM match_models ORDER BY id DESC LIMIT 1`).Scan(&body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		s.match.model = match.DefaultModel()
		return nil
	case err != nil:
		return fmt.Errorf("load match model: %w", err)
	}
	m, err := match.ParseModel([]byte(body))
	if err != nil {
		return fmt.Errorf("load match model: %w", err)
	}
	s.match.model = m
	return nil
}

// MatchAll matches every pending resident, in batches, and returns what it
// decided. The server runs it right behind ingest; import runs it at the end.
func (s *Store) MatchAll(ctx context.Context) (MatchReport, error) {
	var total MatchReport
	for {
		// Small transactions let ingest batches in between: the store has
		// one writer, and a laptop waiting on a long match is a worse user
		// experience than a few more commits.
		r, err := s.MatchPending(ctx, 100)
		if err != nil {
			return total, err
		}
		total.add(r)
		if r.Residents == 0 {
			return total, nil
		}
	}
}

// pendingResident is a resident waiting for the matcher.
type pendingResident struct {
	seq         int64
	id          string
	householdID string
	deleted     bool
	version     int64
	data        string
	person      string
	fingerprint string
	household   string
}

// MatchPending matches up to limit residents that arrived or changed since
// they were last matched, household by household in arrival order, in one
// transaction: each is linked to a person, made a new person, or made a
// new person with a review task against its best candidate.
func (s *Store) MatchPending(ctx context.Context, limit int) (MatchReport, error) {
	s.match.mu.Lock()
	defer s.match.mu.Unlock()
	var rep MatchReport

	tx, err := s.begin(ctx)
	if err != nil {
		return rep, fmt.Errorf("match: %w", err)
	}
	defer tx.Rollback()
	pending, err := pendingResidents(ctx, tx, limit)
	if err != nil {
		return rep, fmt.Errorf("match: %w", err)
	}
	now := formatTime(s.now())
	for start := 0; start < len(pending); {
		end := start + 1
		for end < len(pending) && pending[end].householdID == pending[start].householdID {
			end++
		}
		began := time.Now()
		r, err := s.matchGroup(ctx, tx, pending[start:end], now)
		if s.match.observe != nil {
			s.match.observe(time.Since(began), end-start)
		}
		if err != nil {
			return rep, fmt.Errorf("match household %s: %w", pending[start].householdID, err)
		}
		rep.add(r)
		start = end
	}
	if err := tx.Commit(); err != nil {
		return rep, fmt.Errorf("match: commit: %w", err)
	}
	return rep, nil
}

func pendingResidents(ctx context.Context, tx *txn, limit int) ([]pendingResident, error) {
	rows, err := tx.QueryContext(ctx, `SELECT r.rowid, r.id, COALESCE(r.household_id, ''), r.deleted, r.version, r.data,
			COALESCE(r.person_id, ''), COALESCE(r.match_fingerprint, ''), COALESCE(h.data, '{}')
		FROM residents r LEFT JOIN households h ON h.id = r.household_id
		WHERE r.match_state = 'pending' ORDER BY r.rowid LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pendingResident
	for rows.Next() {
		var p pendingResident
		if err := rows.Scan(&p.seq, &p.id, &p.householdID, &p.deleted, &p.version, &p.data, &p.person, &p.fingerprint, &p.household); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// matchGroup matches the pending members of one household.
func (s *Store) matchGroup(ctx context.Context, tx *txn, group []pendingResident, now string) (MatchReport, error) {
	var rep MatchReport
	var todo []pendingResident
	var feats []match.Features
	for _, p := range group {
		rep.Residents++
		if p.deleted {
			// A removed member leaves the index; its person keeps the
			// residents it has, and history keeps the rest.
			if _, err := tx.ExecContext(ctx, `DELETE FROM match_keys WHERE resident_id = ?`, p.id); err != nil {
				return rep, err
			}
			if err := markMatched(ctx, tx, p.id, ""); err != nil {
				return rep, err
			}
			if p.person != "" {
				if err := personUpdated(ctx, tx, p.person, now); err != nil {
					return rep, err
				}
			}
			rep.Removed++
			continue
		}
		f, fp, err := residentFeatures(p.data, p.household)
		if err != nil {
			return rep, err
		}
		if p.person != "" && fp == p.fingerprint {
			// A new version that changes nothing matching looks at.
			if err := markMatched(ctx, tx, p.id, fp); err != nil {
				return rep, err
			}
			rep.Unchanged++
			continue
		}
		if p.person != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM match_keys WHERE resident_id = ?`, p.id); err != nil {
				return rep, err
			}
		}
		p.fingerprint = fp
		todo = append(todo, p)
		feats = append(feats, *f)
	}
	if len(todo) == 0 {
		return rep, nil
	}
	reg := &sqlRegistry{ctx: ctx, tx: tx, m: &s.match}
	if len(todo) == 1 {
		reg.self = todo[0].person
	}
	decisions, err := s.match.model.MatchGroup(reg, feats, s.match.opt)
	if err != nil {
		return rep, err
	}
	for i, d := range decisions {
		p := todo[i]
		switch d.Outcome {
		case match.OutcomeLink:
			rep.Linked++
		case match.OutcomeReview:
			rep.Review++
		default:
			rep.New++
		}
		if err := s.applyDecision(ctx, tx, p, &feats[i], d, now); err != nil {
			return rep, err
		}
		s.match.remember(p.id, p.version, &feats[i])
	}
	return rep, nil
}

// applyDecision records one decision: the resident's person, a review
// task, the blocking keys and the terms.
func (s *Store) applyDecision(ctx context.Context, tx *txn, p pendingResident, f *match.Features, d match.Decision, now string) error {
	person := p.person
	switch {
	case d.Outcome == match.OutcomeLink && person == "":
		person = d.Person
		if _, err := tx.ExecContext(ctx, `UPDATE residents SET person_id = ?, link = 'auto' WHERE id = ?`, person, p.id); err != nil {
			return err
		}
		if err := s.recordLink(ctx, tx, "link", person, "", []string{p.id}, "auto", "matcher", now); err != nil {
			return err
		}
		if err := personUpdated(ctx, tx, person, now); err != nil {
			return err
		}
		if err := s.notifyPerson(ctx, tx, person, now); err != nil {
			return err
		}
	case d.Outcome == match.OutcomeLink && person != d.Person:
		// A re-matched resident now looks like another person. Fold its
		// person in only when the resident is all that person is;
		// otherwise a supervisor decides.
		alone, err := personHasOnly(ctx, tx, person, p.id)
		if err != nil {
			return err
		}
		if alone {
			if err := s.mergePersons(ctx, tx, d.Person, person, "auto", "matcher", now); err != nil {
				return err
			}
			person = d.Person
		} else if err := s.openReview(ctx, tx, d.Best, now); err != nil {
			return err
		}
	case person == "":
		var err error
		if person, err = s.createPerson(ctx, tx, p.id, "new", now); err != nil {
			return err
		}
	default:
		// A re-matched resident that stays with its person: check it still
		// belongs there, now that its data changed.
		before := person
		var err error
		if person, err = s.recheckPerson(ctx, tx, p, f, person, now); err != nil {
			return err
		}
		if err := personUpdated(ctx, tx, before, now); err != nil {
			return err
		}
	}
	if d.Outcome == match.OutcomeReview {
		if err := s.openReview(ctx, tx, d.Best, now); err != nil {
			return err
		}
	}
	for _, k := range match.BlockingKeys(f) {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO match_keys (key, seq, resident_id) VALUES (?, ?, ?)`, k, p.seq, p.id); err != nil {
			return err
		}
	}
	if err := addPersonTerms(ctx, tx, person, match.FrequencyKeys(f)); err != nil {
		return err
	}
	return markMatched(ctx, tx, p.id, p.fingerprint)
}

// recheckPerson compares an edited resident with the other residents of
// its person. If none of them is still likely the same human, the resident
// leaves with a new person of its own (an edit that corrects a wrong link);
// if only possibly, a supervisor is asked.
func (s *Store) recheckPerson(ctx context.Context, tx *txn, p pendingResident, f *match.Features, person, now string) (string, error) {
	others, err := queryStrings(ctx, tx, `SELECT id FROM residents WHERE person_id = ? AND id != ? AND deleted = 0`, person, p.id)
	if err != nil || len(others) == 0 {
		return person, err
	}
	reg := &sqlRegistry{ctx: ctx, tx: tx, m: &s.match}
	m := s.match.model
	var best *match.Comparison
	for _, id := range others {
		c, ok, err := reg.candidate(p.id, id)
		if err != nil {
			return person, err
		}
		if !ok {
			continue
		}
		cmp := m.Score(f, c.Features, reg.Frequencies(), match.HouseholdUnknown)
		if best == nil || cmp.Probability > best.Probability {
			best = &cmp
		}
	}
	switch {
	case best == nil:
		return person, nil
	case m.Decide(best) == match.OutcomeNew:
		fresh, err := s.createPerson(ctx, tx, p.id, "new", now)
		if err != nil {
			return person, err
		}
		if err := s.recordLink(ctx, tx, "unlink", person, fresh, []string{p.id}, "edit", "matcher", now); err != nil {
			return person, err
		}
		return fresh, recountPersonTerms(ctx, tx, person)
	case m.Decide(best) == match.OutcomeReview:
		return person, s.openReview(ctx, tx, best, now)
	}
	return person, nil
}

func markMatched(ctx context.Context, tx *txn, id, fingerprint string) error {
	_, err := tx.ExecContext(ctx, `UPDATE residents SET match_state = 'done', match_fingerprint = ? WHERE id = ?`, fingerprint, id)
	return err
}

// residentFeatures decodes a stored resident and its household into what
// matching compares, and a fingerprint of what matching looks at, so a new
// version that changes none of it is not matched again.
func residentFeatures(residentJSON, householdJSON string) (*match.Features, string, error) {
	var r schema.Resident
	if err := json.Unmarshal([]byte(residentJSON), &r); err != nil {
		return nil, "", fmt.Errorf("decode resident: %w", err)
	}
	var h schema.Household
	if err := json.Unmarshal([]byte(householdJSON), &h); err != nil {
		return nil, "", fmt.Errorf("decode household: %w", err)
	}
	h.ID = r.HouseholdID
	f := match.NewFeatures(&r, &h)
	sum := sha256.New()
	r.ID = ""
	json.NewEncoder(sum).Encode(struct {
		R schema.Resident
		A schema.Address
	}{r, h.Address})
	return &f, hex.EncodeToString(sum.Sum(nil)[:16]), nil
}

func (m *matcher) remember(id string, version int64, f *match.Features) {
	if len(m.cache) >= featureCacheSize {
		clear(m.cache)
	}
	m.cache[id] = cachedFeatures{version: version, f: f}
}

// sqlRegistry is match.Registry over the store's tables, inside the
// matcher's transaction.
type sqlRegistry struct {
	ctx  context.Context
	tx   *txn
	m    *matcher
	self string // the person of a re-matched resident: its own residents are not candidates
}

func (r *sqlRegistry) Frequencies() match.Frequencies { return sqlFrequencies{r.ctx, r.tx} }

func (r *sqlRegistry) Candidates(f *match.Features, perKey, limit int) ([]match.Candidate, error) {
	// Rarest keys first, as the in-memory index does: a rare key (an
	// Aadhaar hash, a full date of birth with a name) says more than a
	// common one (a pincode and "kumar"). Block sizes are counted up to a
	// cap of 120, which orders the rare ones exactly and the common ones
	// last, without scanning a common block of a big registry whole.
	type block struct {
		ids  []string
		size int
	}
	var blocks []block
	for _, k := range match.LookupKeys(f) {
		ids, err := queryStrings(r.ctx, r.tx, `SELECT resident_id FROM match_keys WHERE key = ? ORDER BY seq DESC LIMIT ?`, k, perKey)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			continue
		}
		size := len(ids)
		if size == perKey {
			if err := r.tx.QueryRowContext(r.ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM match_keys WHERE key = ? LIMIT 120)`, k).Scan(&size); err != nil {
				return nil, err
			}
		}
		blocks = append(blocks, block{ids, size})
	}
	slices.SortStableFunc(blocks, func(x, y block) int { return x.size - y.size })
	seen := map[string]bool{f.ID: true}
	var ids []string
	for _, b := range blocks {
		for _, id := range b.ids {
			if !seen[id] && len(ids) < limit {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	out := make([]match.Candidate, 0, len(ids))
	for _, id := range ids {
		c, ok, err := r.candidate(f.ID, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// candidate loads one candidate, leaving out residents removed since they
// were indexed, the re-matched resident's own person, and pairs a
// supervisor has said are different people.
func (r *sqlRegistry) candidate(self, id string) (match.Candidate, bool, error) {
	var version int64
	var person sql.NullString
	var deleted, different bool
	err := r.tx.QueryRowContext(r.ctx, `SELECT version, person_id, deleted,
			EXISTS (SELECT 1 FROM review_tasks WHERE pair = ? AND status = 'different')
		FROM residents WHERE id = ?`, pairKey(self, id), id).Scan(&version, &person, &deleted, &different)
	if errors.Is(err, sql.ErrNoRows) || deleted || different || !person.Valid || (r.self != "" && person.String == r.self) {
		return match.Candidate{}, false, nil
	}
	if err != nil {
		return match.Candidate{}, false, err
	}
	if c, ok := r.m.cache[id]; ok && c.version == version {
		return match.Candidate{Features: c.f, Person: person.String}, true, nil
	}
	var rdata, hdata string
	if err := r.tx.QueryRowContext(r.ctx, `SELECT r.data, COALESCE(h.data, '{}') FROM residents r LEFT JOIN households h ON h.id = r.household_id WHERE r.id = ?`, id).Scan(&rdata, &hdata); err != nil {
		return match.Candidate{}, false, err
	}
	f, _, err := residentFeatures(rdata, hdata)
	if err != nil {
		return match.Candidate{}, false, err
	}
	r.m.remember(id, version, f)
	return match.Candidate{Features: f, Person: person.String}, true, nil
}

// sqlFrequencies is match.Frequencies over match_terms.
type sqlFrequencies struct {
	ctx context.Context
	tx  *txn
}

func (q sqlFrequencies) Count(term string) int {
	if n, ok := q.tx.terms[term]; ok {
		return n
	}
	var n int
	// An error reads as an unseen term: no adjustment, never a failed match.
	q.tx.QueryRowContext(q.ctx, `SELECT n FROM match_terms WHERE term = ?`, term).Scan(&n)
	if q.tx.terms == nil {
		q.tx.terms = make(map[string]int)
	}
	q.tx.terms[term] = n
	return n
}

func (q sqlFrequencies) Total() int { return q.Count(personsTerm) }

// pairKey names an unordered pair of residents.
func pairKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "|" + b
}

// RunMatcher matches residents right behind ingest until ctx ends: woken
// by every batch that stored something, and every few seconds in case a
// wake-up was missed (another process, a restart with work left).
func (s *Store) RunMatcher(ctx context.Context, log func(msg string, args ...any)) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		rep, err := s.MatchAll(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log("matching failed; will retry", "err", err)
		case rep.Residents > 0:
			log("matched", "residents", rep.Residents, "new", rep.New, "linked", rep.Linked, "review", rep.Review)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.ingested:
		case <-tick.C:
		}
	}
}

// wakeMatcher tells a running matcher that residents wait. It never
// blocks ingest: one pending wake-up is enough.
func (s *Store) wakeMatcher() {
	select {
	case s.ingested <- struct{}{}:
	default:
	}
}
