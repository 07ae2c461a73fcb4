package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/match"
)

// createPerson makes a new active person for resident, which joins it by
// link (new, manual), and gives the person what a new person gets. e, when
// the caller has it (the matcher), is the resident as stored, not deleted:
// the person's first card is made from it without reading it again.
func (s *Store) createPerson(ctx context.Context, tx *txn, resident, link, now string, e *enrolment) (string, error) {
	id := schema.NewID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO persons (id, status, created_at, updated_at) VALUES (?, 'active', ?, ?)`, id, now, now); err != nil {
		return "", fmt.Errorf("create person: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE residents SET person_id = ?, link = ? WHERE id = ?`, id, link, resident); err != nil {
		return "", fmt.Errorf("create person: %w", err)
	}
	if err := bumpTerm(ctx, tx, personsTerm, 1); err != nil {
		return "", err
	}
	if e != nil && e.resident != resident {
		e = nil
	}
	if err := s.personCreated(ctx, tx, id, now, e); err != nil {
		return "", fmt.Errorf("create person %s: %w", id, err)
	}
	return id, nil
}

func bumpTerm(ctx context.Context, tx *txn, term string, by int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO match_terms (term, n) VALUES (?, ?)
		ON CONFLICT (term) DO UPDATE SET n = match_terms.n + excluded.n`, term, by)
	if n, ok := tx.terms[term]; ok {
		tx.terms[term] = n + by
	}
	return err
}

// addPersonTerms counts each term once per person, in two statements
// whatever the number of terms.
func addPersonTerms(ctx context.Context, tx *txn, person string, terms []string) error {
	added, err := insertReturning(ctx, tx, dialect(tx.pg, personTermsInsert, personTermsInsertPG), terms, person)
	if err != nil || len(added) == 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, dialect(tx.pg, termsBump, termsBumpPG), jsonArray(added)); err != nil {
		return err
	}
	for _, t := range added {
		if n, ok := tx.terms[t]; ok {
			tx.terms[t] = n + 1
		}
	}
	return nil
}

// dropPersonTerms uncounts every term of a person.
func dropPersonTerms(ctx context.Context, tx *txn, person string) error {
	clear(tx.terms) // counts change in bulk below
	if _, err := tx.ExecContext(ctx, `UPDATE match_terms SET n = n - 1
		WHERE term IN (SELECT term FROM person_terms WHERE person_id = ?)`, person); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM person_terms WHERE person_id = ?`, person)
	return err
}

// recountPersonTerms recounts a person's terms from its residents, after
// residents moved in or out.
func recountPersonTerms(ctx context.Context, tx *txn, person string) error {
	if err := dropPersonTerms(ctx, tx, person); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.data, COALESCE(h.data, '{}') FROM residents r
		LEFT JOIN households h ON h.id = r.household_id WHERE r.person_id = ? AND r.deleted = 0`, person)
	if err != nil {
		return err
	}
	var terms []string
	for rows.Next() {
		var rd, hd string
		if err := rows.Scan(&rd, &hd); err != nil {
			rows.Close()
			return err
		}
		f, _, err := residentFeatures(rd, hd)
		if err != nil {
			rows.Close()
			return err
		}
		terms = append(terms, match.FrequencyKeys(f)...)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return addPersonTerms(ctx, tx, person, terms)
}

func personHasOnly(ctx context.Context, tx *txn, person, resident string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE person_id = ? AND id != ? AND deleted = 0`, person, resident).Scan(&n)
	return n == 0, err
}

func (s *Store) recordLink(ctx context.Context, tx *txn, kind, survivor, merged string, residents []string, reason, by, now string) error {
	list, _ := json.Marshal(residents)
	var m any
	if merged != "" {
		m = merged
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO person_links (kind, survivor, merged, residents, reason, by, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, kind, survivor, m, string(list), reason, by, now); err != nil {
		return fmt.Errorf("record %s: %w", kind, err)
	}
	return nil
}

// mergePersons folds person merged into survivor: its residents move, it
// stays as a merged person pointing at the survivor (so its identifiers
// keep answering), and the move is recorded for unmerge.
func (s *Store) mergePersons(ctx context.Context, tx *txn, survivor, merged, reason, by, now string) error {
	if survivor == merged {
		return nil
	}
	residents, err := personResidents(ctx, tx, merged)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE residents SET person_id = ? WHERE person_id = ?`, survivor, merged); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE persons SET status = 'merged', merged_into = ?, updated_at = ? WHERE id = ?`, survivor, now, merged); err != nil {
		return err
	}
	// Earlier persons merged into the one now folded in follow it.
	if _, err := tx.ExecContext(ctx, `UPDATE persons SET merged_into = ?, updated_at = ? WHERE merged_into = ?`, survivor, now, merged); err != nil {
		return err
	}
	if err := dropPersonTerms(ctx, tx, merged); err != nil {
		return err
	}
	if err := recountPersonTerms(ctx, tx, survivor); err != nil {
		return err
	}
	if err := bumpTerm(ctx, tx, personsTerm, -1); err != nil {
		return err
	}
	if err := s.recordLink(ctx, tx, "merge", survivor, merged, residents, reason, by, now); err != nil {
		return err
	}
	if err := s.personMerged(ctx, tx, survivor, merged, now); err != nil {
		return fmt.Errorf("merge %s into %s: %w", merged, survivor, err)
	}
	return nil
}

func personResidents(ctx context.Context, tx *txn, person string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM residents WHERE person_id = ? ORDER BY id`, person)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// UnmergeResult says what an unmerge restored.
type UnmergeResult struct {
	Survivor  string   `json:"survivor"`
	Restored  string   `json:"restored"`
	Residents []string `json:"residents"`
}

// Unmerge undoes a link. id is a merged person (its merge into the
// survivor is undone: the person is active again with exactly the
// residents it brought) or a resident that joined a person by a link (it
// leaves with a new person of its own). Either way the residents on the two
// sides are remembered as different people, so matching never joins them
// again on its own.
func (s *Store) Unmerge(ctx context.Context, id, by string) (UnmergeResult, error) {
	s.match.mu.Lock()
	defer s.match.mu.Unlock()
	tx, err := s.begin(ctx)
	if err != nil {
		return UnmergeResult{}, fmt.Errorf("unmerge %s: %w", id, err)
	}
	defer tx.Rollback()
	id, err = s.resolvePersonID(ctx, tx, id)
	if err != nil {
		return UnmergeResult{}, fmt.Errorf("unmerge: %w", err)
	}
	now := formatTime(s.now())
	var res UnmergeResult
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM persons WHERE id = ?`, id).Scan(&status)
	switch {
	case err == nil && status == "merged":
		res, err = s.unmergePerson(ctx, tx, id, by, now)
	case err == nil:
		return UnmergeResult{}, &schema.Error{Code: schema.ECONFLICT, Message: fmt.Sprintf("person %s is not merged into another; to take a resident out, unmerge the resident's id", id)}
	case errors.Is(err, sql.ErrNoRows):
		res, err = s.unlinkResident(ctx, tx, id, by, now)
	}
	if err != nil {
		return UnmergeResult{}, fmt.Errorf("unmerge %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return UnmergeResult{}, fmt.Errorf("unmerge %s: %w", id, err)
	}
	return res, nil
}

func (s *Store) unmergePerson(ctx context.Context, tx *txn, merged, by, now string) (UnmergeResult, error) {
	var linkID int64
	var survivor, list string
	err := tx.QueryRowContext(ctx, `SELECT id, survivor, residents FROM person_links
		WHERE kind = 'merge' AND merged = ? AND undone_by IS NULL ORDER BY id DESC LIMIT 1`, merged).Scan(&linkID, &survivor, &list)
	if errors.Is(err, sql.ErrNoRows) {
		return UnmergeResult{}, &schema.Error{Code: schema.ECONFLICT, Message: fmt.Sprintf("person %s has no merge to undo", merged)}
	}
	if err != nil {
		return UnmergeResult{}, err
	}
	var residents []string
	if err := json.Unmarshal([]byte(list), &residents); err != nil {
		return UnmergeResult{}, err
	}
	// The survivor may itself have been merged since: its residents now
	// sit with the person it was folded into.
	var current string
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(merged_into, id) FROM persons WHERE id = ?`, survivor).Scan(&current); err != nil {
		return UnmergeResult{}, err
	}
	for _, r := range residents {
		if _, err := tx.ExecContext(ctx, `UPDATE residents SET person_id = ? WHERE id = ? AND person_id = ?`, merged, r, current); err != nil {
			return UnmergeResult{}, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE persons SET status = 'active', merged_into = NULL, updated_at = ? WHERE id = ?`, now, merged); err != nil {
		return UnmergeResult{}, err
	}
	if err := bumpTerm(ctx, tx, personsTerm, 1); err != nil {
		return UnmergeResult{}, err
	}
	if err := s.separate(ctx, tx, merged, current, by, now); err != nil {
		return UnmergeResult{}, err
	}
	if err := s.recordLink(ctx, tx, "unmerge", current, merged, residents, "manual", by, now); err != nil {
		return UnmergeResult{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE person_links SET undone_by = (SELECT MAX(id) FROM person_links) WHERE id = ?`, linkID); err != nil {
		return UnmergeResult{}, err
	}
	if err := s.personUnmerged(ctx, tx, current, merged, now); err != nil {
		return UnmergeResult{}, err
	}
	return UnmergeResult{Survivor: current, Restored: merged, Residents: residents}, nil
}

func (s *Store) unlinkResident(ctx context.Context, tx *txn, resident, by, now string) (UnmergeResult, error) {
	var person sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT person_id FROM residents WHERE id = ?`, resident).Scan(&person)
	if errors.Is(err, sql.ErrNoRows) {
		return UnmergeResult{}, &schema.Error{Code: schema.ENOTFOUND, Message: fmt.Sprintf("no person or resident %s", resident)}
	}
	if err != nil {
		return UnmergeResult{}, err
	}
	if !person.Valid {
		return UnmergeResult{}, &schema.Error{Code: schema.ECONFLICT, Message: fmt.Sprintf("resident %s has not been matched yet", resident)}
	}
	alone, err := personHasOnly(ctx, tx, person.String, resident)
	if err != nil {
		return UnmergeResult{}, err
	}
	if alone {
		return UnmergeResult{}, &schema.Error{Code: schema.ECONFLICT, Message: fmt.Sprintf("resident %s is the only resident of its person: nothing to unmerge", resident)}
	}
	fresh, err := s.createPerson(ctx, tx, resident, "manual", now, nil)
	if err != nil {
		return UnmergeResult{}, err
	}
	if err := s.separate(ctx, tx, fresh, person.String, by, now); err != nil {
		return UnmergeResult{}, err
	}
	if err := s.recordLink(ctx, tx, "unlink", person.String, fresh, []string{resident}, "manual", by, now); err != nil {
		return UnmergeResult{}, err
	}
	if err := s.personUnmerged(ctx, tx, person.String, fresh, now); err != nil {
		return UnmergeResult{}, err
	}
	return UnmergeResult{Survivor: person.String, Restored: fresh, Residents: []string{resident}}, nil
}

// separate recounts both persons' terms and remembers every pair of their
// residents as different people, closing open review tasks between them.
func (s *Store) separate(ctx context.Context, tx *txn, a, b, by, now string) error {
	for _, p := range []string{a, b} {
		if err := recountPersonTerms(ctx, tx, p); err != nil {
			return err
		}
	}
	as, err := personResidents(ctx, tx, a)
	if err != nil {
		return err
	}
	bs, err := personResidents(ctx, tx, b)
	if err != nil {
		return err
	}
	for _, x := range as {
		for _, y := range bs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO review_tasks
				(pair, resident_a, resident_b, probability, weight, comparison, status, created_at, decided_at, decided_by)
				VALUES (?, ?, ?, 0, 0, '{}', 'different', ?, ?, ?)
				ON CONFLICT (pair) DO UPDATE SET status = 'different', decided_at = excluded.decided_at, decided_by = excluded.decided_by`,
				pairKey(x, y), x, y, now, now, by); err != nil {
				return err
			}
		}
	}
	return nil
}
