package surveyor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// SaveHousehold normalises, validates and stores a new household with its
// members, and queues every record for the server, in one transaction: when
// it returns nil the household survives a pulled plug. Aadhaar numbers are
// replaced by their keyed hash and last four digits before anything is
// written. A validation failure returns schema.ValidationErrors naming each
// field path and rule, and writes nothing. h is changed in place as it is
// stored: normalised, ids filled in, Aadhaar numbers replaced.
func (s *Store) SaveHousehold(ctx context.Context, h *schema.Household) error {
	reg, err := s.Registration(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	h.Normalize(now)
	if err := h.Validate(now); err != nil {
		return err
	}
	h.ProtectAadhaar(reg.AadhaarKey)

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save household: %w", err)
	}
	defer tx.Rollback()
	w, err := newWriter(ctx, tx, now)
	if err != nil {
		return err
	}
	defer w.close()
	exists, err := w.householdExists(ctx, h.ID)
	if err != nil {
		return err
	}
	if exists {
		return &schema.Error{Code: schema.ECONFLICT, Field: "id", Rule: "unique",
			Message: fmt.Sprintf("household %s already exists; change it with `surveyor edit %s`", h.ID, h.ID)}
	}
	if err := w.checkMemberIDs(ctx, h, ""); err != nil {
		return err
	}
	if err := w.insertHousehold(ctx, h); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save household: %w", err)
	}
	return nil
}

// UpdateHousehold replaces a stored household by h (an edit). Each record
// whose content changed gets its version raised by one and goes back in
// the outbox; a member absent from h becomes a deleted tombstone that the
// server also learns about. A record the server rejected is re-queued with
// a new version even if unchanged, and its rejection is cleared: editing is
// how a survey worker answers a rejection. It returns how many records were
// queued.
func (s *Store) UpdateHousehold(ctx context.Context, h *schema.Household) (int, error) {
	if h.ID == "" {
		return 0, schema.ValidationErrors{{Code: schema.EINVALID, Field: "id", Rule: "required", Message: "is required to edit a household"}}
	}
	reg, err := s.Registration(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now()
	h.Normalize(now)
	if err := h.Validate(now); err != nil {
		return 0, err
	}
	h.ProtectAadhaar(reg.AadhaarKey)

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("edit household: %w", err)
	}
	defer tx.Rollback()
	w, err := newWriter(ctx, tx, now)
	if err != nil {
		return 0, err
	}
	defer w.close()

	var cur struct {
		version int64
		data    string
		status  string
	}
	err = tx.QueryRowContext(ctx, `SELECT version, data, sync_status FROM households WHERE id = ?`, h.ID).
		Scan(&cur.version, &cur.data, &cur.status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, schema.Errorf(schema.ENOTFOUND, "no household %s on this laptop", h.ID)
	}
	if err != nil {
		return 0, fmt.Errorf("edit household: %w", err)
	}
	if err := w.checkMemberIDs(ctx, h, h.ID); err != nil {
		return 0, err
	}

	queued := 0
	hdata, err := householdData(h)
	if err != nil {
		return 0, err
	}
	if hdata != cur.data || cur.status == StatusRejected {
		if err := w.bump(ctx, schema.KindHousehold, h.ID, cur.version+1, hdata, false, -1); err != nil {
			return 0, err
		}
		queued++
	}

	type residentRow struct {
		version  int64
		data     string
		deleted  bool
		status   string
		position int
	}
	old := map[string]residentRow{}
	var order []string
	rows, err := tx.QueryContext(ctx, `SELECT id, version, data, deleted, sync_status, position
		FROM residents WHERE household_id = ? ORDER BY position, rowid`, h.ID)
	if err != nil {
		return 0, fmt.Errorf("edit household: %w", err)
	}
	for rows.Next() {
		var id string
		var r residentRow
		if err := rows.Scan(&id, &r.version, &r.data, &r.deleted, &r.status, &r.position); err != nil {
			rows.Close()
			return 0, fmt.Errorf("edit household: %w", err)
		}
		old[id] = r
		order = append(order, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("edit household: %w", err)
	}

	kept := map[string]bool{}
	for i := range h.Members {
		m := &h.Members[i]
		kept[m.ID] = true
		data, err := residentData(m)
		if err != nil {
			return 0, err
		}
		r, ok := old[m.ID]
		switch {
		case !ok:
			if err := w.insertResident(ctx, m, i); err != nil {
				return 0, err
			}
			queued++
		case data != r.data || r.deleted || r.status == StatusRejected:
			if err := w.bump(ctx, schema.KindResident, m.ID, r.version+1, data, false, i); err != nil {
				return 0, err
			}
			queued++
		case r.position != i:
			if _, err := tx.ExecContext(ctx, `UPDATE residents SET position = ? WHERE id = ?`, i, m.ID); err != nil {
				return 0, fmt.Errorf("edit household: %w", err)
			}
		}
	}
	for _, id := range order {
		r := old[id]
		if kept[id] || (r.deleted && r.status != StatusRejected) {
			continue
		}
		// The tombstone carries the last data so the server knows which
		// household it leaves.
		if err := w.bump(ctx, schema.KindResident, id, r.version+1, r.data, true, r.position); err != nil {
			return 0, err
		}
		queued++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("edit household: %w", err)
	}
	return queued, nil
}

// householdData is a household's wire form: without its members, which
// travel as records of their own.
func householdData(h *schema.Household) (string, error) {
	c := *h
	c.Members = nil
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode household %s: %w", h.ID, err)
	}
	return string(b), nil
}

func residentData(r *schema.Resident) (string, error) {
	if r.Aadhaar != "" {
		// ProtectAadhaar runs before every write; reaching here is our bug,
		// and refusing beats storing a number in the clear.
		return "", fmt.Errorf("encode resident %s: aadhaar number not yet replaced by its hash", r.ID)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode resident %s: %w", r.ID, err)
	}
	return string(b), nil
}

// writer holds the statements that write households inside one
// transaction; import reuses them for hundreds of households per commit.
type writer struct {
	tx  *sql.Tx
	now string

	insHousehold, insResident, enqueue, hhExists, residentOwner *sql.Stmt
	logged, insLog                                              *sql.Stmt
	insKey, delKeys                                             *sql.Stmt // resident_keys, for Lookalikes
}

func newWriter(ctx context.Context, tx *sql.Tx, now time.Time) (*writer, error) {
	w := &writer{tx: tx, now: timestamp(now)}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.insHousehold, `INSERT INTO households (id, version, data, sync_status, created_at, updated_at)
			VALUES (?, 1, ?, 'pending', ?, ?)`},
		{&w.insResident, `INSERT INTO residents (id, household_id, position, version, data, sync_status, created_at, updated_at)
			VALUES (?, ?, ?, 1, ?, 'pending', ?, ?)`},
		{&w.enqueue, `INSERT INTO outbox (kind, record_id, version) VALUES (?, ?, ?)
			ON CONFLICT (kind, record_id) DO UPDATE SET version = excluded.version`},
		{&w.hhExists, `SELECT COUNT(*) FROM households WHERE id = ?`},
		{&w.residentOwner, `SELECT household_id FROM residents WHERE id = ?`},
		{&w.logged, `SELECT COUNT(*) FROM import_log WHERE line_hash = ?`},
		{&w.insLog, `INSERT OR IGNORE INTO import_log (line_hash, household_id, imported_at) VALUES (?, ?, ?)`},
		{&w.insKey, `INSERT OR IGNORE INTO resident_keys (key, resident_id) VALUES (?, ?)`},
		{&w.delKeys, `DELETE FROM resident_keys WHERE resident_id = ?`},
	} {
		st, err := tx.PrepareContext(ctx, p.query)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
	}
	return w, nil
}

func (w *writer) close() {
	for _, st := range []*sql.Stmt{w.insHousehold, w.insResident, w.enqueue, w.hhExists, w.residentOwner, w.logged, w.insLog, w.insKey, w.delKeys} {
		if st != nil {
			st.Close()
		}
	}
}

func (w *writer) householdExists(ctx context.Context, id string) (bool, error) {
	var n int
	if err := w.hhExists.QueryRowContext(ctx, id).Scan(&n); err != nil {
		return false, fmt.Errorf("look up household %s: %w", id, err)
	}
	return n > 0, nil
}

// checkMemberIDs refuses member ids used twice in h or already used by a
// household other than own: the server would see one resident in two
// places.
func (w *writer) checkMemberIDs(ctx context.Context, h *schema.Household, own string) error {
	seen := make(map[string]int, len(h.Members))
	for i, m := range h.Members {
		field := fmt.Sprintf("members[%d].id", i)
		if j, dup := seen[m.ID]; dup {
			return &schema.Error{Code: schema.ECONFLICT, Field: field, Rule: "unique",
				Message: fmt.Sprintf("is the same as members[%d].id; each member needs its own id", j)}
		}
		seen[m.ID] = i
		var owner string
		err := w.residentOwner.QueryRowContext(ctx, m.ID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("look up resident %s: %w", m.ID, err)
		}
		if owner != own {
			return &schema.Error{Code: schema.ECONFLICT, Field: field, Rule: "unique",
				Message: fmt.Sprintf("%s is already a member of household %s", m.ID, owner)}
		}
	}
	return nil
}

// insertHousehold writes a new, validated and protected household, its
// members and their outbox rows, household first so it leaves first.
func (w *writer) insertHousehold(ctx context.Context, h *schema.Household) error {
	data, err := householdData(h)
	if err != nil {
		return err
	}
	if _, err := w.insHousehold.ExecContext(ctx, h.ID, data, w.now, w.now); err != nil {
		return fmt.Errorf("insert household %s: %w", h.ID, err)
	}
	if _, err := w.enqueue.ExecContext(ctx, schema.KindHousehold, h.ID, 1); err != nil {
		return fmt.Errorf("queue household %s: %w", h.ID, err)
	}
	for i := range h.Members {
		if err := w.insertResident(ctx, &h.Members[i], i); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) insertResident(ctx context.Context, m *schema.Resident, position int) error {
	data, err := residentData(m)
	if err != nil {
		return err
	}
	if _, err := w.insResident.ExecContext(ctx, m.ID, m.HouseholdID, position, data, w.now, w.now); err != nil {
		return fmt.Errorf("insert resident %s: %w", m.ID, err)
	}
	if _, err := w.enqueue.ExecContext(ctx, schema.KindResident, m.ID, 1); err != nil {
		return fmt.Errorf("queue resident %s: %w", m.ID, err)
	}
	return w.keyResident(ctx, m)
}

// bump stores a new version of an existing record, clears any rejection
// and queues it. position < 0 leaves a resident's position alone.
func (w *writer) bump(ctx context.Context, kind, id string, version int64, data string, deleted bool, position int) error {
	var err error
	if kind == schema.KindHousehold {
		_, err = w.tx.ExecContext(ctx, `UPDATE households SET version = ?, data = ?, sync_status = 'pending',
			reject_code = NULL, reject_field = NULL, reject_message = NULL, updated_at = ? WHERE id = ?`,
			version, data, w.now, id)
	} else {
		_, err = w.tx.ExecContext(ctx, `UPDATE residents SET version = ?, data = ?, deleted = ?,
			position = CASE WHEN ? >= 0 THEN ? ELSE position END, sync_status = 'pending',
			reject_code = NULL, reject_field = NULL, reject_message = NULL, updated_at = ? WHERE id = ?`,
			version, data, deleted, position, position, w.now, id)
	}
	if err != nil {
		return fmt.Errorf("update %s %s: %w", kind, id, err)
	}
	if _, err := w.enqueue.ExecContext(ctx, kind, id, version); err != nil {
		return fmt.Errorf("queue %s %s: %w", kind, id, err)
	}
	if kind == schema.KindResident {
		return w.rekeyResident(ctx, id, data, deleted)
	}
	return nil
}
