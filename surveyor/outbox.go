package surveyor

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/doorstep-health/doorstep/schema"
)

// PendingRecords returns up to limit records (all when limit <= 0)
// waiting for the server, in outbox order: a household before its
// residents. Data is the wire form: a household without members, a
// resident with household_id and no Aadhaar number.
func (s *Store) PendingRecords(ctx context.Context, limit int) ([]schema.Record, error) {
	if limit <= 0 {
		limit = -1
	}
	recs, _, err := s.pending(ctx, 0, limit)
	return recs, err
}

// pending returns outbox records after seq, and the seq of the last one, so
// a sync walks the outbox once even when a record stays in it.
func (s *Store) pending(ctx context.Context, after int64, limit int) ([]schema.Record, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.seq, o.kind, o.record_id, o.version,
			COALESCE(h.data, r.data), COALESCE(r.deleted, 0)
		FROM outbox o
		LEFT JOIN households h ON o.kind = 'household' AND h.id = o.record_id
		LEFT JOIN residents r ON o.kind = 'resident' AND r.id = o.record_id
		WHERE o.seq > ? ORDER BY o.seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var recs []schema.Record
	last := after
	for rows.Next() {
		var rec schema.Record
		var data *string
		if err := rows.Scan(&last, &rec.Kind, &rec.ID, &rec.Version, &data, &rec.Deleted); err != nil {
			return nil, 0, fmt.Errorf("read outbox: %w", err)
		}
		if data == nil {
			return nil, 0, fmt.Errorf("read outbox: %s %s is queued but not stored", rec.Kind, rec.ID)
		}
		rec.Data = json.RawMessage(*data)
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read outbox: %w", err)
	}
	return recs, last, nil
}

// pendingCount is how many records wait in the outbox.
func (s *Store) pendingCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}

// allRecords returns every record's latest version after the given
// household rowid, each household followed by its residents, for an export
// of everything.
func (s *Store) allRecords(ctx context.Context, afterRowid int64, households int) ([]schema.Record, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT x.hrow, x.kind, x.id, x.version, x.data, x.deleted FROM (
			SELECT h.rowid AS hrow, 0 AS ord, -1 AS pos, 'household' AS kind, h.id, h.version, h.data, 0 AS deleted
			FROM households h WHERE h.rowid IN (SELECT rowid FROM households WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)
			UNION ALL
			SELECT h.rowid, 1, r.position, 'resident', r.id, r.version, r.data, r.deleted
			FROM households h JOIN residents r ON r.household_id = h.id
			WHERE h.rowid IN (SELECT rowid FROM households WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)
		) x ORDER BY x.hrow, x.ord, x.pos`, afterRowid, households)
	if err != nil {
		return nil, 0, fmt.Errorf("read records: %w", err)
	}
	defer rows.Close()
	var recs []schema.Record
	last := afterRowid
	for rows.Next() {
		var rec schema.Record
		var data string
		if err := rows.Scan(&last, &rec.Kind, &rec.ID, &rec.Version, &data, &rec.Deleted); err != nil {
			return nil, 0, fmt.Errorf("read records: %w", err)
		}
		rec.Data = json.RawMessage(data)
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read records: %w", err)
	}
	return recs, last, nil
}

// ApplyResults records the server's answer to a batch. A record is marked
// synced on accepted, duplicate or stale, and rejected with the server's
// code, field and message on rejected; either way its outbox row goes.
// Both only apply to the version that was sent: if the record was edited
// meanwhile, the newer version stays pending and queued.
func (s *Store) ApplyResults(ctx context.Context, res schema.BatchResult) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply results: %w", err)
	}
	defer tx.Rollback()
	now := timestamp(s.now())
	for _, r := range res.Results {
		var table string
		switch r.Kind {
		case schema.KindHousehold:
			table = "households"
		case schema.KindResident:
			table = "residents"
		default:
			continue
		}
		switch r.Status {
		case schema.StatusAccepted, schema.StatusDuplicate, schema.StatusStale:
			_, err = tx.ExecContext(ctx, `UPDATE `+table+` SET sync_status = 'synced', reject_code = NULL,
				reject_field = NULL, reject_message = NULL, synced_at = ? WHERE id = ? AND version = ?`, now, r.ID, r.Version)
		case schema.StatusRejected:
			code := r.Code
			if code == "" {
				code = schema.EINVALID
			}
			_, err = tx.ExecContext(ctx, `UPDATE `+table+` SET sync_status = 'rejected', reject_code = ?,
				reject_field = ?, reject_message = ? WHERE id = ? AND version = ?`, code, r.Field, r.Message, r.ID, r.Version)
		default:
			// An answer we do not understand leaves the record queued.
			continue
		}
		if err != nil {
			return fmt.Errorf("apply result for %s %s: %w", r.Kind, r.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE kind = ? AND record_id = ? AND version = ?`,
			r.Kind, r.ID, r.Version); err != nil {
			return fmt.Errorf("apply result for %s %s: %w", r.Kind, r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply results: %w", err)
	}
	return nil
}

// ApplyChanges stores what the server learnt about this laptop's residents
// (health ID, card status, a note such as a match to a known person) and
// advances the changes cursor, in one transaction so a page is applied
// whole or read again.
func (s *Store) ApplyChanges(ctx context.Context, ch schema.Changes) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply changes: %w", err)
	}
	defer tx.Rollback()
	for _, c := range ch.Changes {
		if c.HealthID != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE residents SET health_id = ? WHERE id = ?`, c.HealthID, c.RecordID); err != nil {
				return fmt.Errorf("apply change %d: %w", c.Seq, err)
			}
		}
		if c.CardStatus != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE residents SET card_status = ? WHERE id = ?`, c.CardStatus, c.RecordID); err != nil {
				return fmt.Errorf("apply change %d: %w", c.Seq, err)
			}
		}
		if c.Message != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE residents SET server_note = ? WHERE id = ?`, c.Message, c.RecordID); err != nil {
				return fmt.Errorf("apply change %d: %w", c.Seq, err)
			}
		}
	}
	cur, err := cursor(ctx, tx)
	if err != nil {
		return err
	}
	if ch.Cursor > cur {
		if err := setSetting(ctx, tx, settingCursor, strconv.FormatInt(ch.Cursor, 10)); err != nil {
			return err
		}
	}
	if len(ch.Keys) > 0 {
		b, err := json.Marshal(ch.Keys)
		if err != nil {
			return fmt.Errorf("apply changes: encode keys: %w", err)
		}
		if err := setSetting(ctx, tx, settingSigningKeys, string(b)); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply changes: %w", err)
	}
	return nil
}

func cursor(ctx context.Context, q querier) (int64, error) {
	v, err := getSetting(ctx, q, settingCursor)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read changes cursor %q: %w", v, err)
	}
	return n, nil
}
