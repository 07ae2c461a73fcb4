package surveyor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/doorstep-health/doorstep/schema"
)

// Rejection is the server's reason for refusing one record.
type Rejection struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Field   string `json:"field,omitempty"` // path within the household, like members[1].dob
	Code    string `json:"code"`
	Message string `json:"message"`
}

// HouseholdView is a stored household with its members and what the
// server said about each. Its JSON is the import format plus status
// fields, so `show --json` output can be edited and fed to `edit --json`.
type HouseholdView struct {
	schema.Household
	Version    int64          `json:"version"`
	SyncStatus string         `json:"sync_status"`
	Rejection  *Rejection     `json:"rejection,omitempty"`
	UpdatedAt  string         `json:"updated_at"`
	Members    []ResidentView `json:"members"`
}

// ResidentView is one member with its sync status and what the server
// issued for it.
type ResidentView struct {
	schema.Resident
	Version    int64      `json:"version"`
	SyncStatus string     `json:"sync_status"`
	Rejection  *Rejection `json:"rejection,omitempty"`
	HealthID   string     `json:"health_id,omitempty"`
	CardStatus string     `json:"card_status,omitempty"`
	ServerNote string     `json:"server_note,omitempty"`
}

// Schema returns the household as the domain type, members included, ready
// to be changed and passed to UpdateHousehold.
func (v *HouseholdView) Schema() *schema.Household {
	h := v.Household
	h.Members = make([]schema.Resident, len(v.Members))
	for i, m := range v.Members {
		h.Members[i] = m.Resident
	}
	return &h
}

// Household returns the household with the given id, or the household of
// the resident with that id. An unknown id is a not_found error.
func (s *Store) Household(ctx context.Context, id string) (*HouseholdView, error) {
	var hid string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM households WHERE id = ?
		UNION ALL SELECT household_id FROM residents WHERE id = ? LIMIT 1`, id, id).Scan(&hid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.Errorf(schema.ENOTFOUND, "no household or member %s on this laptop", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find household %s: %w", id, err)
	}
	v := &HouseholdView{}
	var data string
	var rej rejectCols
	err = s.db.QueryRowContext(ctx, `SELECT data, version, sync_status, reject_code, reject_field, reject_message, updated_at
		FROM households WHERE id = ?`, hid).Scan(&data, &v.Version, &v.SyncStatus, &rej.code, &rej.field, &rej.message, &v.UpdatedAt)
	if err != nil {
		return nil, fmt.Errorf("read household %s: %w", hid, err)
	}
	if err := json.Unmarshal([]byte(data), &v.Household); err != nil {
		return nil, fmt.Errorf("decode household %s: %w", hid, err)
	}
	v.Rejection = rej.rejection(schema.KindHousehold, hid, "")

	rows, err := s.db.QueryContext(ctx, `SELECT id, data, version, sync_status, reject_code, reject_field, reject_message,
		COALESCE(health_id, ''), COALESCE(card_status, ''), COALESCE(server_note, '')
		FROM residents WHERE household_id = ? AND deleted = 0 ORDER BY position, rowid`, hid)
	if err != nil {
		return nil, fmt.Errorf("read members of %s: %w", hid, err)
	}
	defer rows.Close()
	v.Members = []ResidentView{}
	for rows.Next() {
		var r ResidentView
		var rid string
		var rej rejectCols
		if err := rows.Scan(&rid, &data, &r.Version, &r.SyncStatus, &rej.code, &rej.field, &rej.message,
			&r.HealthID, &r.CardStatus, &r.ServerNote); err != nil {
			return nil, fmt.Errorf("read members of %s: %w", hid, err)
		}
		if err := json.Unmarshal([]byte(data), &r.Resident); err != nil {
			return nil, fmt.Errorf("decode resident %s: %w", rid, err)
		}
		r.Rejection = rej.rejection(schema.KindResident, rid, fmt.Sprintf("members[%d]", len(v.Members)))
		v.Members = append(v.Members, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read members of %s: %w", hid, err)
	}
	return v, nil
}

type rejectCols struct {
	code, field, message sql.NullString
}

// rejection turns the stored reason into a Rejection whose field is a path
// within the household (prefix is members[i] for a resident).
func (c rejectCols) rejection(kind, id, prefix string) *Rejection {
	if !c.code.Valid && !c.message.Valid {
		return nil
	}
	field := c.field.String
	switch {
	case prefix != "" && field != "":
		field = prefix + "." + field
	case prefix != "":
		field = prefix
	}
	return &Rejection{Kind: kind, ID: id, Field: field, Code: c.code.String, Message: c.message.String}
}

// ListFilter narrows List.
type ListFilter struct {
	Pending  bool // households with a record still to send
	Rejected bool // households with a record the server refused
	Limit    int  // 0: all
}

// HouseholdSummary is one line of `surveyor list`.
type HouseholdSummary struct {
	ID         string      `json:"id"`
	Area       string      `json:"area"`
	Address    string      `json:"address"`
	Outcome    string      `json:"outcome"`
	Head       string      `json:"head,omitempty"`
	Members    int         `json:"members"`
	VisitedAt  string      `json:"visited_at"`
	Status     string      `json:"status"` // rejected if any record is, else pending if any is, else synced
	Rejections []Rejection `json:"rejections,omitempty"`
}

// List returns households in the order they were saved.
func (s *Store) List(ctx context.Context, f ListFilter) ([]HouseholdSummary, error) {
	var where []string
	if f.Pending {
		where = append(where, `(h.sync_status = 'pending' OR EXISTS (SELECT 1 FROM residents r
			WHERE r.household_id = h.id AND r.sync_status = 'pending'))`)
	}
	if f.Rejected {
		where = append(where, `(h.sync_status = 'rejected' OR EXISTS (SELECT 1 FROM residents r
			WHERE r.household_id = h.id AND r.sync_status = 'rejected'))`)
	}
	q := `SELECT h.id, h.data, h.sync_status, h.reject_code, h.reject_field, h.reject_message FROM households h`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " OR ")
	}
	q += " ORDER BY h.rowid"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list households: %w", err)
	}
	list := []HouseholdSummary{}
	index := map[string]int{}
	for rows.Next() {
		var id, data, status string
		var rej rejectCols
		if err := rows.Scan(&id, &data, &status, &rej.code, &rej.field, &rej.message); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list households: %w", err)
		}
		var h schema.Household
		if err := json.Unmarshal([]byte(data), &h); err != nil {
			rows.Close()
			return nil, fmt.Errorf("decode household %s: %w", id, err)
		}
		sum := HouseholdSummary{ID: id, Area: h.Area, Outcome: h.Outcome, VisitedAt: h.VisitedAt, Status: status,
			Address: strings.Join(nonEmpty(h.Address.Line1, h.Address.Locality, h.Address.City, h.Address.Pincode), ", ")}
		if r := rej.rejection(schema.KindHousehold, id, ""); r != nil && status == StatusRejected {
			sum.Rejections = append(sum.Rejections, *r)
		}
		index[id] = len(list)
		list = append(list, sum)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list households: %w", err)
	}
	if len(list) == 0 {
		return list, nil
	}
	if err := s.summariseMembers(ctx, list, index); err != nil {
		return nil, err
	}
	return list, nil
}

// summariseMembers fills head, member count, rejections and the overall
// status from the residents, in one pass over them.
func (s *Store) summariseMembers(ctx context.Context, list []HouseholdSummary, index map[string]int) error {
	rows, err := s.db.QueryContext(ctx, `SELECT household_id, id, deleted, data, sync_status, reject_code, reject_field, reject_message
		FROM residents ORDER BY household_id, position, rowid`)
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	live := map[string]int{}
	for rows.Next() {
		var hid, id, data, status string
		var deleted bool
		var rej rejectCols
		if err := rows.Scan(&hid, &id, &deleted, &data, &status, &rej.code, &rej.field, &rej.message); err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		i, ok := index[hid]
		if !ok {
			continue
		}
		sum := &list[i]
		pos := live[hid]
		if !deleted {
			live[hid]++
			sum.Members++
		}
		switch {
		case status == StatusRejected:
			sum.Status = StatusRejected
		case status == StatusPending && sum.Status == StatusSynced:
			sum.Status = StatusPending
		}
		if deleted && status != StatusRejected {
			continue
		}
		var r schema.Resident
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			return fmt.Errorf("decode resident %s: %w", id, err)
		}
		if r.Relation == "head" && !deleted {
			sum.Head = r.Name
		}
		if status == StatusRejected {
			prefix := fmt.Sprintf("members[%d]", pos)
			if deleted {
				prefix = "removed member " + r.Name
			}
			if rr := rej.rejection(schema.KindResident, id, prefix); rr != nil {
				sum.Rejections = append(sum.Rejections, *rr)
			}
		}
	}
	return rows.Err()
}

func nonEmpty(ss ...string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
