package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// Page sizes of Changes.
const (
	DefaultChangesLimit = 100
	MaxChangesLimit     = 1000
)

// Changes returns, in order, what the server learnt about deviceID's own
// records after the cursor after, at most limit of them (0 means the
// default). The cursor answered is the last change returned, or after when
// none is, so a laptop storing it never misses or repeats a change.
func (s *Store) Changes(ctx context.Context, deviceID string, after int64, limit int) (schema.Changes, error) {
	switch {
	case after < 0:
		return schema.Changes{}, &schema.Error{Code: schema.EINVALID, Field: "after", Rule: "min", Message: "must not be negative"}
	case limit < 0:
		return schema.Changes{}, &schema.Error{Code: schema.EINVALID, Field: "limit", Rule: "min", Message: "must not be negative"}
	case limit == 0:
		limit = DefaultChangesLimit
	case limit > MaxChangesLimit:
		limit = MaxChangesLimit
	}
	// One more than asked tells whether another page waits.
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, kind, record_id, data, created_at FROM changes
		WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?`, deviceID, after, limit+1)
	if err != nil {
		return schema.Changes{}, fmt.Errorf("changes for %s: %w", deviceID, err)
	}
	defer rows.Close()
	out := schema.Changes{Changes: []schema.Change{}, Cursor: after}
	for rows.Next() {
		if len(out.Changes) == limit {
			out.More = true
			break
		}
		var (
			c    schema.Change
			data string
		)
		if err := rows.Scan(&c.Seq, &c.Kind, &c.RecordID, &data, &c.At); err != nil {
			return schema.Changes{}, fmt.Errorf("changes for %s: %w", deviceID, err)
		}
		// data holds the kind-specific fields (health_id, card_status,
		// message); the columns are authoritative for the rest.
		seq, kind, id, at := c.Seq, c.Kind, c.RecordID, c.At
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return schema.Changes{}, fmt.Errorf("changes for %s: change %d: %w", deviceID, seq, err)
		}
		c.Seq, c.Kind, c.RecordID, c.At = seq, kind, id, at
		out.Changes = append(out.Changes, c)
		out.Cursor = seq
	}
	if err := rows.Err(); err != nil {
		return schema.Changes{}, fmt.Errorf("changes for %s: %w", deviceID, err)
	}
	// The published signing keys travel with every pull, so a laptop can
	// check cards offline in the field.
	for _, k := range s.CardKeys().PublicKeys().Keys {
		b, err := json.Marshal(k)
		if err != nil {
			return schema.Changes{}, fmt.Errorf("changes for %s: %w", deviceID, err)
		}
		out.Keys = append(out.Keys, b)
	}
	return out, nil
}

// recordChange appends a change for deviceID to pull, inside the
// transaction that caused it, so a change is never announced for a write
// that rolled back. Matching, health IDs and cards call it.
func recordChange(ctx context.Context, tx execer, deviceID string, c schema.Change, now time.Time) (int64, error) {
	extra := schema.Change{HealthID: c.HealthID, CardStatus: c.CardStatus, Message: c.Message}
	data, err := json.Marshal(extra)
	if err != nil {
		return 0, fmt.Errorf("record change: %w", err)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO changes (device_id, record_id, kind, data, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING seq`, deviceID, c.RecordID, c.Kind, string(data), formatTime(now)).Scan(&seq); err != nil {
		return 0, fmt.Errorf("record change: %w", err)
	}
	return seq, nil
}

// execer is what recordChange needs of a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
