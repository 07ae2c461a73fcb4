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

// Review decisions.
const (
	DecisionSame      = "same"
	DecisionDifferent = "different"
)

// openReview asks a supervisor about the pair of a comparison, unless the
// pair has been asked about before: a decision is remembered for good.
func (s *Store) openReview(ctx context.Context, tx *txn, c *match.Comparison, now string) error {
	if c == nil {
		return nil
	}
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO review_tasks
		(pair, resident_a, resident_b, probability, weight, comparison, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'open', ?) ON CONFLICT DO NOTHING`, pairKey(c.A, c.B), c.A, c.B, c.Probability, c.Weight, string(body), now)
	return err
}

// ReviewTask is a question for a supervisor: are these two residents one
// human? Comparison holds the field-by-field evidence.
type ReviewTask struct {
	ID          int64             `json:"id"`
	Status      string            `json:"status"`
	Probability float64           `json:"probability"`
	Weight      float64           `json:"weight"`
	A           ReviewSide        `json:"a"`
	B           ReviewSide        `json:"b"`
	Comparison  *match.Comparison `json:"comparison,omitempty"`
	CreatedAt   string            `json:"created_at"`
	DecidedAt   string            `json:"decided_at,omitempty"`
	DecidedBy   string            `json:"decided_by,omitempty"`
}

// ReviewSide is one resident of a review task, with its household.
type ReviewSide struct {
	Resident  schema.Resident  `json:"resident"`
	Household schema.Household `json:"household"`
	Person    string           `json:"person"`
	Device    string           `json:"device"`
}

// ReviewFilter selects review tasks.
type ReviewFilter struct {
	Status string // open (default), same, different, all
	Limit  int
	After  int64 // the last task of the previous page: tasks after it in the listing's order
}

// ReviewTasks lists tasks, the most likely matches first.
func (s *Store) ReviewTasks(ctx context.Context, f ReviewFilter) ([]ReviewTask, error) {
	switch f.Status {
	case "":
		f.Status = "open"
	case "open", DecisionSame, DecisionDifferent, "all":
	default:
		return nil, &schema.Error{Code: schema.EINVALID, Field: "status", Rule: "one_of",
			Message: fmt.Sprintf("must be open, same, different or all, not %q", f.Status)}
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	// Paging follows the listing's order (probability, then id): the
	// page after task X holds the tasks that sort after X, which an id
	// comparison alone would not give.
	q := `SELECT t.id FROM review_tasks t LEFT JOIN review_tasks c ON c.id = ?
		WHERE (t.status = ? OR ? = 'all') AND t.probability > 0
		AND (? = 0 OR t.probability < c.probability OR (t.probability = c.probability AND t.id > c.id))
		ORDER BY t.probability DESC, t.id LIMIT ?`
	var tasks []ReviewTask
	err := s.readAs(ctx, func(rq querier, audit auditFunc) error {
		var err error
		tasks, err = s.reviewTasks(ctx, rq, q, f)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if err := auditReviewTask(audit, "review.list", t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list review tasks: %w", err)
	}
	return tasks, nil
}

// auditReviewTask records the read of both sides of a task.
func auditReviewTask(audit auditFunc, action string, t ReviewTask) error {
	for _, side := range []ReviewSide{t.A, t.B} {
		if side.Person == "" {
			continue
		}
		if err := audit(action, side.Person, fmt.Sprintf("review task %d", t.ID)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) reviewTasks(ctx context.Context, rq querier, q string, f ReviewFilter) ([]ReviewTask, error) {
	rows, err := rq.QueryContext(ctx, q, f.After, f.Status, f.Status, f.After, f.Limit)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	tasks := make([]ReviewTask, 0, len(ids))
	for _, id := range ids {
		t, err := s.reviewTask(ctx, rq, id)
		if err != nil {
			return nil, err
		}
		t.Comparison = nil
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// ReviewTask returns one task with both residents, their households and
// the evidence.
func (s *Store) ReviewTask(ctx context.Context, id int64) (ReviewTask, error) {
	var t ReviewTask
	err := s.readAs(ctx, func(q querier, audit auditFunc) error {
		var err error
		if t, err = s.reviewTask(ctx, q, id); err != nil {
			return err
		}
		return auditReviewTask(audit, "review.show", t)
	})
	return t, err
}

func (s *Store) reviewTask(ctx context.Context, q querier, id int64) (ReviewTask, error) {
	var t ReviewTask
	var a, b, cmp string
	var decidedAt, decidedBy sql.NullString
	err := q.QueryRowContext(ctx, `SELECT id, status, probability, weight, resident_a, resident_b, comparison, created_at, decided_at, decided_by
		FROM review_tasks WHERE id = ?`, id).Scan(&t.ID, &t.Status, &t.Probability, &t.Weight, &a, &b, &cmp, &t.CreatedAt, &decidedAt, &decidedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return t, &schema.Error{Code: schema.ENOTFOUND, Message: fmt.Sprintf("no review task %d", id)}
	}
	if err != nil {
		return t, fmt.Errorf("review task %d: %w", id, err)
	}
	t.DecidedAt, t.DecidedBy = decidedAt.String, decidedBy.String
	if cmp != "{}" {
		t.Comparison = new(match.Comparison)
		if err := json.Unmarshal([]byte(cmp), t.Comparison); err != nil {
			return t, fmt.Errorf("review task %d: %w", id, err)
		}
	}
	if t.A, err = reviewSide(ctx, q, a); err != nil {
		return t, fmt.Errorf("review task %d: %w", id, err)
	}
	if t.B, err = reviewSide(ctx, q, b); err != nil {
		return t, fmt.Errorf("review task %d: %w", id, err)
	}
	return t, nil
}

func reviewSide(ctx context.Context, q querier, resident string) (ReviewSide, error) {
	var side ReviewSide
	var rd, hd string
	var person sql.NullString
	err := q.QueryRowContext(ctx, `SELECT r.data, COALESCE(h.data, '{}'), r.person_id, r.device_id FROM residents r
		LEFT JOIN households h ON h.id = r.household_id WHERE r.id = ?`, resident).Scan(&rd, &hd, &person, &side.Device)
	if err != nil {
		return side, err
	}
	side.Person = person.String
	if err := json.Unmarshal([]byte(rd), &side.Resident); err != nil {
		return side, err
	}
	if err := json.Unmarshal([]byte(hd), &side.Household); err != nil {
		return side, err
	}
	return side, nil
}

// DecideReview records a supervisor's answer. "same" merges the two
// residents' persons (the candidate's person survives); "different" keeps
// them apart and matching never proposes the pair again. Deciding a task
// again the same way is a no-op; the other way is a conflict (unmerge
// undoes a "same").
func (s *Store) DecideReview(ctx context.Context, id int64, decision, by string) (ReviewTask, error) {
	if decision != DecisionSame && decision != DecisionDifferent {
		return ReviewTask{}, &schema.Error{Code: schema.EINVALID, Field: "decision", Rule: "one_of",
			Message: fmt.Sprintf("must be same or different, not %q", decision)}
	}
	if err := s.decideReview(ctx, id, decision, by); err != nil {
		return ReviewTask{}, fmt.Errorf("decide review task %d: %w", id, err)
	}
	return s.ReviewTask(ctx, id)
}

func (s *Store) decideReview(ctx context.Context, id int64, decision, by string) error {
	s.match.mu.Lock()
	defer s.match.mu.Unlock()
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var status, a, b string
	err = tx.QueryRowContext(ctx, `SELECT status, resident_a, resident_b FROM review_tasks WHERE id = ?`, id).Scan(&status, &a, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return &schema.Error{Code: schema.ENOTFOUND, Message: fmt.Sprintf("no review task %d", id)}
	}
	if err != nil {
		return err
	}
	switch status {
	case decision:
		return nil
	case "open":
	default:
		return &schema.Error{Code: schema.ECONFLICT, Message: fmt.Sprintf("review task %d was already decided %s", id, status)}
	}
	now := formatTime(s.now())
	if decision == DecisionSame {
		var pa, pb sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT person_id FROM residents WHERE id = ?`, a).Scan(&pa); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT person_id FROM residents WHERE id = ?`, b).Scan(&pb); err != nil {
			return err
		}
		if pa.Valid && pb.Valid && pa.String != pb.String {
			if err := s.mergePersons(ctx, tx, pb.String, pa.String, fmt.Sprintf("review:%d", id), by, now); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE review_tasks SET status = ?, decided_at = ?, decided_by = ? WHERE id = ?`, decision, now, by, id); err != nil {
		return err
	}
	return tx.Commit()
}
