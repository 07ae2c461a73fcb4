package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/match"
)

// personsTerm is the row of match_terms that counts active persons.
const personsTerm = "#persons"

// featureCacheSize bounds the cache of candidates' features: enough for
// the active part of a big registry, small enough for a server's memory.
// The cache keeps two generations of half this size each: when the newer
// fills, the older is dropped, and an entry found in the older moves to
// the newer, so hot candidates stay while cold ones age out.
const featureCacheSize = 200_000

// matchYieldAfter is the matcher's default yieldAfter: a verification
// waits at most this and one household's matching for the writer.
const matchYieldAfter = 10 * time.Millisecond

// blockSizeCacheSize bounds the remembered sizes of full blocking-key
// blocks (see matcher.blocks).
const blockSizeCacheSize = 1_000_000

// blockSizeCap is how far a block is counted: enough to order the rare
// keys exactly and put the common ones last.
const blockSizeCap = 120

// matcher is the store's matching state: the model in use and a cache of
// residents' features, so scoring a candidate does not decode its JSON
// again. Only the writer's transactions use it.
type matcher struct {
	mu    sync.Mutex
	model *match.Model
	opt   match.MatcherOptions
	cache map[string]cachedFeatures // the newer generation
	old   map[string]cachedFeatures // the older generation
	// blocks remembers, for keys whose block had filled perKey when
	// looked up, the number of residents stored under the key counted up
	// to blockSizeCap: the matcher keeps it exact as it inserts and deletes
	// keys, so a lookup need not count the block again. It is dropped
	// whenever it may have missed a change: a failed transaction, or a
	// commit by another connection (dataVersion).
	blocks      map[string]int
	dataVersion int64
	// modelID is the match_models row in use (0: the defaults). Another
	// process may train a newer one; MatchPending looks before matching.
	modelID int64
	// observe, when set (benchmarks), hears each household's matching time
	// and how many residents it decided.
	observe func(d time.Duration, residents int)
	// yieldAfter is how long a matching transaction on SQLite runs before
	// it commits early for audited reads waiting for the writer: long
	// enough that each commit carries several households, short enough
	// that a hospital's verification is not kept waiting.
	yieldAfter time.Duration
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
	s.match.old = nil
	s.match.blocks = make(map[string]int)
	var body string
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id, model FROM match_models ORDER BY id DESC LIMIT 1`).Scan(&id, &body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		s.match.model, s.match.modelID = match.DefaultModel(), 0
		return nil
	case err != nil:
		return fmt.Errorf("load match model: %w", err)
	}
	m, err := match.ParseModel([]byte(body))
	if err != nil {
		return fmt.Errorf("load match model: %w", err)
	}
	s.match.model, s.match.modelID = m, id
	return nil
}

// checkModel takes up a model trained since this store loaded its own
// (`syncserver match train` runs in another process, and several servers
// share one PostgreSQL registry), so every matcher decides by the newest.
// Called under s.match.mu with the writer's transaction open.
func (s *Store) checkModel(ctx context.Context, tx *txn) error {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM match_models`).Scan(&id); err != nil {
		return err
	}
	if id == s.match.modelID {
		return nil
	}
	var body string
	if err := tx.QueryRowContext(ctx, `SELECT model FROM match_models WHERE id = ?`, id).Scan(&body); err != nil {
		return err
	}
	m, err := match.ParseModel([]byte(body))
	if err != nil {
		return fmt.Errorf("model %d: %w", id, err)
	}
	s.match.model, s.match.modelID = m, id
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
	device      string
	// resident and home are the decoded resident and household, set for
	// those the matcher decides: a new person's first card is made from them.
	resident *schema.Resident
	home     *schema.Household
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
	committed := false
	defer func() {
		if !committed {
			// The block sizes may count keys this transaction wrote.
			clear(s.match.blocks)
		}
	}()
	if err := s.match.checkDataVersion(ctx, tx, s.pg && s.pgWrite.takeForeign()); err != nil {
		return rep, fmt.Errorf("match: %w", err)
	}
	if err := s.checkModel(ctx, tx); err != nil {
		return rep, fmt.Errorf("match: %w", err)
	}
	pending, err := pendingResidents(ctx, tx, limit)
	if err != nil {
		return rep, fmt.Errorf("match: %w", err)
	}
	roundBegan, yielded := time.Now(), false
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
		if !s.pg && start < len(pending) && s.readsWaiting.Load() > 0 && time.Since(roundBegan) >= s.match.yieldAfter {
			// A hospital's verification waits for the one writer: let it
			// in now, not after a hundred residents.
			yielded = true
			break
		}
	}
	readTxns := s.auditTxns.Load()
	if err := tx.Commit(); err != nil {
		return rep, fmt.Errorf("match: commit: %w", err)
	}
	committed = true
	if yielded {
		s.letReadsIn(readTxns)
	}
	return rep, nil
}

// letReadsIn waits, briefly, until the audited reads the matcher yielded
// to have begun their transaction (before counted those so far):
// database/sql hands a freed connection to any one of its waiters, and
// the matcher's next round would be one of them.
func (s *Store) letReadsIn(before int64) {
	deadline := time.Now().Add(matchYieldAfter)
	for s.auditTxns.Load() == before && s.readsWaiting.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
}

// checkDataVersion drops the remembered block sizes when another
// connection (another process) committed since the matcher last looked:
// it may have changed match_keys behind the matcher's back. On PostgreSQL
// the writer lock tells (foreign); SQLite's data_version tells otherwise.
func (m *matcher) checkDataVersion(ctx context.Context, tx *txn, foreign bool) error {
	if foreign {
		clear(m.blocks)
		return nil
	}
	if tx.pg {
		return nil
	}
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return err
	}
	if v != m.dataVersion {
		clear(m.blocks)
		m.dataVersion = v
	}
	return nil
}

func pendingResidents(ctx context.Context, tx *txn, limit int) ([]pendingResident, error) {
	rows, err := tx.QueryContext(ctx, `SELECT r.rowid, r.id, COALESCE(r.household_id, ''), r.deleted, r.version, r.data,
			COALESCE(r.person_id, ''), COALESCE(r.match_fingerprint, ''), COALESCE(h.data, '{}'), r.device_id
		FROM residents r LEFT JOIN households h ON h.id = r.household_id
		WHERE r.match_state = 'pending' ORDER BY r.rowid LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pendingResident
	for rows.Next() {
		var p pendingResident
		if err := rows.Scan(&p.seq, &p.id, &p.householdID, &p.deleted, &p.version, &p.data, &p.person, &p.fingerprint, &p.household, &p.device); err != nil {
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
			if err := s.match.deleteKeys(ctx, tx, p.id); err != nil {
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
		f, fp, r, h, err := decodeResident(p.data, p.household)
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
			if err := s.match.deleteKeys(ctx, tx, p.id); err != nil {
				return rep, err
			}
		}
		p.fingerprint = fp
		p.resident, p.home = r, h
		todo = append(todo, p)
		feats = append(feats, *f)
	}
	if len(todo) == 0 {
		return rep, nil
	}
	reg := &sqlRegistry{ctx: ctx, tx: tx, m: &s.match}
	if err := reg.prefetchTerms(feats); err != nil {
		return rep, err
	}
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
		if person, err = s.createPerson(ctx, tx, p.id, "new", now, p.enrolment()); err != nil {
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
	if err := s.match.insertKeys(ctx, tx, p.seq, p.id, match.BlockingKeys(f)); err != nil {
		return err
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
		fresh, err := s.createPerson(ctx, tx, p.id, "new", now, p.enrolment())
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
	f, fp, _, _, err := decodeResident(residentJSON, householdJSON)
	return f, fp, err
}

// decodeResident is residentFeatures that also returns the decoded
// resident and household, as stored.
func decodeResident(residentJSON, householdJSON string) (*match.Features, string, *schema.Resident, *schema.Household, error) {
	var r schema.Resident
	if err := json.Unmarshal([]byte(residentJSON), &r); err != nil {
		return nil, "", nil, nil, fmt.Errorf("decode resident: %w", err)
	}
	var h schema.Household
	if err := json.Unmarshal([]byte(householdJSON), &h); err != nil {
		return nil, "", nil, nil, fmt.Errorf("decode household: %w", err)
	}
	stored := h
	h.ID = r.HouseholdID
	f := match.NewFeatures(&r, &h)
	sum := sha256.New()
	id := r.ID
	r.ID = ""
	json.NewEncoder(sum).Encode(struct {
		R schema.Resident
		A schema.Address
	}{r, h.Address})
	r.ID = id
	return &f, hex.EncodeToString(sum.Sum(nil)[:16]), &r, &stored, nil
}

// enrolment is what a new person's first card is made from: this
// resident, the person's only one.
func (p *pendingResident) enrolment() *enrolment {
	if p.resident == nil || p.home == nil {
		return nil
	}
	return &enrolment{resident: p.id, device: p.device, r: p.resident, h: p.home}
}

// lookup returns id's cached features if they are of version.
func (m *matcher) lookup(id string, version int64) (*match.Features, bool) {
	if c, ok := m.cache[id]; ok {
		return c.f, c.version == version
	}
	if c, ok := m.old[id]; ok && c.version == version {
		m.remember(id, version, c.f)
		return c.f, true
	}
	return nil, false
}

func (m *matcher) remember(id string, version int64, f *match.Features) {
	if _, ok := m.cache[id]; !ok && len(m.cache) >= featureCacheSize/2 {
		m.old = m.cache
		m.cache = make(map[string]cachedFeatures, featureCacheSize/2)
	}
	m.cache[id] = cachedFeatures{version: version, f: f}
}

// deleteKeys takes a resident out of the blocking index, keeping the
// remembered block sizes exact.
func (m *matcher) deleteKeys(ctx context.Context, tx *txn, resident string) error {
	rows, err := tx.QueryContext(ctx, `DELETE FROM match_keys WHERE resident_id = ? RETURNING key`, resident)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		// The count was capped: one fewer than the cap may be more.
		delete(m.blocks, k)
	}
	return rows.Err()
}

// insertKeys puts a resident into the blocking index under keys, in one
// statement (a resident has a dozen keys, and on PostgreSQL each statement
// is a round trip), keeping the remembered block sizes exact.
func (m *matcher) insertKeys(ctx context.Context, tx *txn, seq int64, resident string, keys []string) error {
	added, err := insertReturning(ctx, tx, dialect(tx.pg, keysInsert, keysInsertPG), keys, seq, resident)
	if err != nil {
		return err
	}
	for _, k := range added {
		if n, ok := m.blocks[k]; ok && n < blockSizeCap {
			m.blocks[k] = n + 1
		}
	}
	return nil
}

// insertReturning runs an INSERT of one row per element of list (passed as
// a JSON array, the statement's first parameter, followed by args) and
// returns the column its RETURNING clause names for the rows inserted.
func insertReturning(ctx context.Context, tx *txn, query string, list []string, args ...any) ([]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	return queryStrings(ctx, tx, query, append([]any{jsonArray(list)}, args...)...)
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
	keys := match.LookupKeys(f)
	if len(keys) == 0 {
		return nil, nil
	}
	// One statement for every key: the perKey most recent residents under
	// each, found by one index range scan per key from the perKey-th most
	// recent seq up. Rows are put in order here, not sorted by SQLite.
	rows, err := r.tx.QueryContext(r.ctx, dialect(r.tx.pg, blockQuery, blockQueryPG), jsonArray(keys), perKey)
	if err != nil {
		return nil, err
	}
	type entry struct {
		seq int64
		id  string
	}
	type block struct {
		key     string
		entries []entry
		ids     []string
		size    int
	}
	all := make([]block, len(keys))
	for rows.Next() {
		var i int
		var e entry
		if err := rows.Scan(&i, &e.seq, &e.id); err != nil {
			rows.Close()
			return nil, err
		}
		if i < 0 || i >= len(keys) {
			rows.Close()
			return nil, fmt.Errorf("candidates: key index %d out of range", i)
		}
		all[i].entries = append(all[i].entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	blocks := all[:0]
	for i := range all {
		b := all[i]
		if len(b.entries) == 0 {
			continue
		}
		slices.SortFunc(b.entries, func(x, y entry) int { return cmp.Compare(y.seq, x.seq) })
		b.key = keys[i]
		b.ids = make([]string, len(b.entries))
		for k, e := range b.entries {
			b.ids[k] = e.id
		}
		blocks = append(blocks, b)
	}
	for i := range blocks {
		b := &blocks[i]
		b.size = len(b.ids)
		if b.size < perKey {
			continue
		}
		if n, ok := r.m.blocks[b.key]; ok {
			b.size = n
			continue
		}
		if err := r.tx.QueryRowContext(r.ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM match_keys WHERE key = ? LIMIT 120) AS block`, b.key).Scan(&b.size); err != nil {
			return nil, err
		}
		if len(r.m.blocks) < blockSizeCacheSize {
			r.m.blocks[b.key] = b.size
		}
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
	return r.candidates(f.ID, ids)
}

// candidate loads one candidate, leaving out residents removed since they
// were indexed, the re-matched resident's own person, and pairs a
// supervisor has said are different people.
func (r *sqlRegistry) candidate(self, id string) (match.Candidate, bool, error) {
	out, err := r.candidates(self, []string{id})
	if err != nil || len(out) == 0 {
		return match.Candidate{}, false, err
	}
	return out[0], true, nil
}

// candidates loads candidates as candidate does, in the order of ids, in
// one statement: the data of those whose features are not cached at their
// current version comes with it.
func (r *sqlRegistry) candidates(self string, ids []string) ([]match.Candidate, error) {
	if len(ids) == 0 {
		return []match.Candidate{}, nil
	}
	// [[id, cached version or -1], ...]
	list := make([]byte, 0, len(ids)*40)
	list = append(list, '[')
	for i, id := range ids {
		if i > 0 {
			list = append(list, ',')
		}
		q, err := json.Marshal(id)
		if err != nil {
			return nil, err
		}
		list = append(list, '[')
		list = append(list, q...)
		list = append(list, ',')
		version := int64(-1)
		if c, ok := r.m.cache[id]; ok {
			version = c.version
		} else if c, ok := r.m.old[id]; ok {
			version = c.version
		}
		list = strconv.AppendInt(list, version, 10)
		list = append(list, ']')
	}
	list = append(list, ']')
	rows, err := r.tx.QueryContext(r.ctx, dialect(r.tx.pg, candidateQuery, candidateQueryPG), string(list), self)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Rows come in any order; candidates are returned in the order of ids.
	type found struct {
		i int
		c match.Candidate
	}
	var got []found
	for rows.Next() {
		var i int
		var id string
		var version int64
		var person, rdata, hdata sql.NullString
		var deleted, different bool
		if err := rows.Scan(&i, &id, &version, &person, &deleted, &different, &rdata, &hdata); err != nil {
			return nil, err
		}
		if deleted || different || !person.Valid || (r.self != "" && person.String == r.self) {
			continue
		}
		if i < 0 || i >= len(ids) {
			return nil, fmt.Errorf("candidates: index %d out of range", i)
		}
		if f, ok := r.m.lookup(id, version); ok {
			got = append(got, found{i, match.Candidate{Features: f, Person: person.String}})
			continue
		}
		if !rdata.Valid || !hdata.Valid {
			// Cached when asked, evicted since: read it again.
			if err := r.tx.QueryRowContext(r.ctx, `SELECT r.data, COALESCE(h.data, '{}') FROM residents r LEFT JOIN households h ON h.id = r.household_id WHERE r.id = ?`, id).Scan(&rdata, &hdata); err != nil {
				return nil, err
			}
		}
		f, _, err := residentFeatures(rdata.String, hdata.String)
		if err != nil {
			return nil, err
		}
		r.m.remember(id, version, f)
		got = append(got, found{i, match.Candidate{Features: f, Person: person.String}})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(got, func(x, y found) int { return x.i - y.i })
	out := make([]match.Candidate, len(got))
	for k := range got {
		out[k] = got[k].c
	}
	return out, nil
}

// prefetchTerms reads in one statement the term counts that scoring a
// household's members will ask for, into the transaction's term cache.
func (r *sqlRegistry) prefetchTerms(feats []match.Features) error {
	terms := []string{personsTerm}
	for i := range feats {
		terms = append(terms, match.FrequencyKeys(&feats[i])...)
	}
	if r.tx.terms == nil {
		r.tx.terms = make(map[string]int)
	}
	todo := terms[:0]
	for _, t := range terms {
		if _, ok := r.tx.terms[t]; !ok {
			todo = append(todo, t)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	rows, err := r.tx.QueryContext(r.ctx, dialect(r.tx.pg, termQuery, termQueryPG), jsonArray(todo))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var term string
		var n int
		if err := rows.Scan(&term, &n); err != nil {
			return err
		}
		r.tx.terms[term] = n
	}
	return rows.Err()
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
	// An unseen term is no adjustment. The interface has no error to
	// return; a failed statement is kept for the commit to report, as on
	// PostgreSQL it has aborted the transaction and what fails next would
	// only say that.
	if err := q.tx.QueryRowContext(q.ctx, `SELECT n FROM match_terms WHERE term = ?`, term).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
		q.tx.failed = cmp.Or(q.tx.failed, fmt.Errorf("term frequency: %w", err))
	}
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

// The matcher's three batched lookups take their keys, candidates and
// terms as one JSON array, which each engine unpacks with its own table
// function (SQLite's json_each, PostgreSQL's jsonb_array_elements); the
// rest of the statement is the same. Each row carries the element's index.
const (
	// blockQuery: the perKey (?2) most recent residents under each key of
	// ?1, found by one index range scan per key from the perKey-th most
	// recent seq up.
	blockQuery = `SELECT j.key, m.seq, m.resident_id FROM json_each(?1) j
		JOIN match_keys m ON m.key = j.value AND m.seq >= COALESCE(
			(SELECT seq FROM match_keys WHERE key = j.value ORDER BY seq DESC LIMIT 1 OFFSET ?2 - 1), -9223372036854775808)`
	blockQueryPG = `SELECT j.ord - 1, m.seq, m.resident_id
		FROM jsonb_array_elements_text(?1::jsonb) WITH ORDINALITY AS j(value, ord)
		JOIN match_keys m ON m.key = j.value AND m.seq >= COALESCE(
			(SELECT seq FROM match_keys WHERE key = j.value ORDER BY seq DESC LIMIT 1 OFFSET ?2::bigint - 1), -9223372036854775808)`

	// candidateQuery: each [id, version] of ?1 with its person and, unless
	// the version is the one the caller already holds, its data; and
	// whether a supervisor said it is not ?2. pairKey orders the two ids by
	// bytes; SQLite compares text so, PostgreSQL by the database's locale,
	// so there both orders are looked up.
	candidateQuery = `SELECT j.key, r.id, r.version, r.person_id, r.deleted,
			EXISTS (SELECT 1 FROM review_tasks WHERE status = 'different'
				AND pair = CASE WHEN ?2 > r.id THEN r.id || '|' || ?2 ELSE ?2 || '|' || r.id END),
			CASE WHEN r.version = j.value ->> 1 THEN NULL ELSE r.data END,
			CASE WHEN r.version = j.value ->> 1 THEN NULL ELSE COALESCE((SELECT h.data FROM households h WHERE h.id = r.household_id), '{}') END
		FROM json_each(?1) j JOIN residents r ON r.id = j.value ->> 0`
	candidateQueryPG = `SELECT j.ord - 1, r.id, r.version, r.person_id, r.deleted,
			EXISTS (SELECT 1 FROM review_tasks WHERE status = 'different'
				AND pair IN (r.id || '|' || ?2::text, ?2::text || '|' || r.id)),
			CASE WHEN r.version = (j.value ->> 1)::bigint THEN NULL ELSE r.data END,
			CASE WHEN r.version = (j.value ->> 1)::bigint THEN NULL ELSE COALESCE((SELECT h.data FROM households h WHERE h.id = r.household_id), '{}') END
		FROM jsonb_array_elements(?1::jsonb) WITH ORDINALITY AS j(value, ord) JOIN residents r ON r.id = j.value ->> 0`

	// keysInsert: the blocking keys of ?1 for resident ?3 (arrival ?2);
	// it returns the keys it inserted. (SQLite needs the WHERE to tell the
	// upsert's ON from a join's.)
	keysInsert = `INSERT INTO match_keys (key, seq, resident_id) SELECT j.value, ?2, ?3 FROM json_each(?1) j WHERE true
		ON CONFLICT DO NOTHING RETURNING key`
	keysInsertPG = `INSERT INTO match_keys (key, seq, resident_id) SELECT j.value, ?2::bigint, ?3::text
		FROM jsonb_array_elements_text(?1::jsonb) AS j(value) ON CONFLICT DO NOTHING RETURNING key`

	// personTermsInsert: the terms of ?1 person ?2 did not hold yet; it
	// returns those it inserted.
	personTermsInsert = `INSERT INTO person_terms (person_id, term) SELECT ?2, j.value FROM json_each(?1) j WHERE true
		ON CONFLICT DO NOTHING RETURNING term`
	personTermsInsertPG = `INSERT INTO person_terms (person_id, term) SELECT ?2::text, j.value
		FROM jsonb_array_elements_text(?1::jsonb) AS j(value) ON CONFLICT DO NOTHING RETURNING term`

	// termsBump: one more person holds each term of ?1 (no term twice).
	termsBump = `INSERT INTO match_terms (term, n) SELECT j.value, 1 FROM json_each(?1) j WHERE true
		ON CONFLICT (term) DO UPDATE SET n = match_terms.n + excluded.n`
	termsBumpPG = `INSERT INTO match_terms (term, n) SELECT j.value, 1 FROM jsonb_array_elements_text(?1::jsonb) AS j(value)
		ON CONFLICT (term) DO UPDATE SET n = match_terms.n + excluded.n`

	// termQuery: how many persons hold each term of ?.
	termQuery   = `SELECT j.value, COALESCE(t.n, 0) FROM json_each(?) j LEFT JOIN match_terms t ON t.term = j.value`
	termQueryPG = `SELECT j.value, COALESCE(t.n, 0) FROM jsonb_array_elements_text(?::jsonb) AS j(value)
		LEFT JOIN match_terms t ON t.term = j.value`
)

// jsonArray is list as the JSON array the batched statements unpack
// (json_each, jsonb_array_elements_text). Strings always encode.
func jsonArray(list []string) string {
	b, _ := json.Marshal(list)
	return string(b)
}

// dialect picks a statement's PostgreSQL form where it differs.
func dialect(pg bool, sqlite, postgres string) string {
	if pg {
		return postgres
	}
	return sqlite
}
