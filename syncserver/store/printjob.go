package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/schema"
)

// PrintJob is a batch of cards one printing centre prints together.
type PrintJob struct {
	ID          int64        `json:"id"`
	Centre      string       `json:"centre"`
	Status      string       `json:"status"`
	CreatedAt   string       `json:"created_at"`
	CreatedBy   string       `json:"created_by"`
	ConfirmedAt string       `json:"confirmed_at,omitempty"`
	Cards       []cards.Card `json:"-"`
	Serials     []string     `json:"serials"`
	// Held lists queued cards of the centre that cannot be printed, with
	// the reason, so the operator sees them at every print run.
	Held []HeldCard `json:"held,omitempty"`
	// Count is how many cards the job took when it was made.
	Count int `json:"count"`
	// Dispatched: a confirmed job whose printed cards have all left for
	// delivery.
	Dispatched bool `json:"dispatched,omitempty"`

	persons []string // the person of each card, for the audit log
}

// jobColumns reads a print job row; the last column works out whether a
// confirmed job has been dispatched (the job's status stays confirmed).
const jobColumns = `j.id, j.centre, j.status, j.created_at, j.created_by, j.confirmed_at, j.cards,
	j.status = 'confirmed'
		AND EXISTS (SELECT 1 FROM cards c WHERE c.print_job = j.id AND c.status IN ('dispatched', 'delivered'))
		AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.print_job = j.id AND c.status = 'printed')`

func scanJob(row interface{ Scan(...any) error }) (PrintJob, error) {
	var j PrintJob
	var confirmed sql.NullString
	err := row.Scan(&j.ID, &j.Centre, &j.Status, &j.CreatedAt, &j.CreatedBy, &confirmed, &j.Count, &j.Dispatched)
	j.ConfirmedAt = confirmed.String
	return j, err
}

// PrintJobs lists the newest print jobs, of one centre or (centre "") of
// all, without their cards.
func (s *Store) PrintJobs(ctx context.Context, centre string, limit int) ([]PrintJob, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+jobColumns+` FROM print_jobs j
		WHERE ? = '' OR lower(j.centre) = lower(?) ORDER BY j.id DESC LIMIT ?`, centre, centre, limit)
	if err != nil {
		return nil, fmt.Errorf("print jobs: %w", err)
	}
	jobs, err := sqlitedb.Collect(rows, func(rows *sql.Rows) (PrintJob, error) { return scanJob(rows) })
	if err != nil {
		return nil, fmt.Errorf("print jobs: %w", err)
	}
	return jobs, nil
}

// HeldCard is a queued card that cannot be printed until its enrolment is
// corrected.
type HeldCard struct {
	Serial   string `json:"serial"`
	HealthID string `json:"health_id"`
	Problem  string `json:"problem"`
}

// CreatePrintJob takes up to limit queued cards of centre that no open job
// holds, oldest first. The cards stay queued until ConfirmPrintJob: a job
// whose printing never finished is printed again with PrintJobCards or
// released with CancelPrintJob, so nothing is lost or printed twice.
func (s *Store) CreatePrintJob(ctx context.Context, centre string, limit int, by string) (PrintJob, error) {
	if centre == "" {
		return PrintJob{}, &schema.Error{Code: schema.EINVALID, Field: "centre", Rule: "required", Message: "is required (a printing centre like DL-NW)"}
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	if err := centreScope(ctx, centre); err != nil {
		return PrintJob{}, err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return PrintJob{}, fmt.Errorf("create print job: %w", err)
	}
	defer tx.Rollback()
	now := formatTime(s.now())
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO print_jobs (centre, status, cards, created_at, created_by) VALUES (?, 'open', 0, ?, ?) RETURNING id`,
		centre, now, by).Scan(&id); err != nil {
		return PrintJob{}, fmt.Errorf("create print job: %w", err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE cards SET print_job = ?, updated_at = ? WHERE serial IN (
		SELECT serial FROM cards WHERE centre = ? AND status = 'queued' AND print_job IS NULL AND problem IS NULL
		ORDER BY issued_at, serial LIMIT ?)`, id, now, centre, limit)
	if err != nil {
		return PrintJob{}, fmt.Errorf("create print job: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return PrintJob{}, &schema.Error{Code: schema.ENOTFOUND, Field: "centre", Message: fmt.Sprintf("no printable queued cards for centre %s", centre)}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE print_jobs SET cards = ? WHERE id = ?`, n, id); err != nil {
		return PrintJob{}, err
	}
	if err := tx.Commit(); err != nil {
		return PrintJob{}, fmt.Errorf("create print job: %w", err)
	}
	return s.PrintJob(ctx, id)
}

// PrintJob returns a job with its cards, ready to render.
func (s *Store) PrintJob(ctx context.Context, id int64) (PrintJob, error) {
	return s.printJob(ctx, s.rdb, id)
}

func (s *Store) printJob(ctx context.Context, rq querier, id int64) (PrintJob, error) {
	j, err := scanJob(rq.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM print_jobs j WHERE j.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, schema.Errorf(schema.ENOTFOUND, "no print job %d", id)
	}
	if err != nil {
		return j, fmt.Errorf("print job %d: %w", id, err)
	}
	if err := centreScope(ctx, j.Centre); err != nil {
		return PrintJob{}, err
	}
	// An open job prints only its cards still queued: one revoked since
	// the job was made (reprinted, merged) must not reach the printer.
	q := `SELECT serial, card, person_id FROM cards WHERE print_job = ? ORDER BY issued_at, serial`
	if j.Status == "open" {
		q = `SELECT serial, card, person_id FROM cards WHERE print_job = ? AND status = 'queued' ORDER BY issued_at, serial`
	}
	rows, err := rq.QueryContext(ctx, q, id)
	if err != nil {
		return j, fmt.Errorf("print job %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var serial, body, person string
		if err := rows.Scan(&serial, &body, &person); err != nil {
			return j, err
		}
		j.persons = append(j.persons, person)
		var c cards.Card
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return j, fmt.Errorf("print job %d: card %s: %w", id, serial, err)
		}
		j.Cards = append(j.Cards, c)
		j.Serials = append(j.Serials, serial)
	}
	if err := rows.Err(); err != nil {
		return j, err
	}
	j.Held, err = heldCards(ctx, rq, j.Centre)
	return j, err
}

func heldCards(ctx context.Context, rq querier, centre string) ([]HeldCard, error) {
	rows, err := rq.QueryContext(ctx, `SELECT serial, health_id, problem FROM cards
		WHERE centre = ? AND status = 'queued' AND problem IS NOT NULL ORDER BY issued_at`, centre)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HeldCard
	for rows.Next() {
		var h HeldCard
		if err := rows.Scan(&h.Serial, &h.HealthID, &h.Problem); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ConfirmPrintJob records that the centre printed the job: its cards move
// from queued to printed. Confirming again is a no-op.
func (s *Store) ConfirmPrintJob(ctx context.Context, id int64, by string) (PrintJob, error) {
	err := s.changeJob(ctx, id, "confirm", func(tx *txn, status, now string) error {
		switch status {
		case "confirmed":
			return nil
		case "cancelled":
			return schema.Errorf(schema.ECONFLICT, "print job %d was cancelled", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE print_jobs SET status = 'confirmed', confirmed_at = ?, confirmed_by = ? WHERE id = ?`, now, by, id); err != nil {
			return err
		}
		return s.moveJobCards(ctx, tx, id, CardQueued, CardPrinted, now)
	})
	if err != nil {
		return PrintJob{}, err
	}
	return s.PrintJob(ctx, id)
}

// CancelPrintJob gives an unconfirmed job's cards back to the queue.
func (s *Store) CancelPrintJob(ctx context.Context, id int64, by string) error {
	return s.changeJob(ctx, id, "cancel", func(tx *txn, status, now string) error {
		switch status {
		case "cancelled":
			return nil
		case "confirmed":
			return schema.Errorf(schema.ECONFLICT, "print job %d is confirmed printed; reprint single cards instead", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cards SET print_job = NULL, updated_at = ? WHERE print_job = ? AND status = 'queued'`, now, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE print_jobs SET status = 'cancelled' WHERE id = ?`, id)
		return err
	})
}

// DispatchPrintJob marks a confirmed job's printed cards dispatched to the
// field.
func (s *Store) DispatchPrintJob(ctx context.Context, id int64, by string) error {
	return s.changeJob(ctx, id, "dispatch", func(tx *txn, status, now string) error {
		if status != "confirmed" {
			return schema.Errorf(schema.ECONFLICT, "print job %d is %s; confirm it printed before dispatch", id, status)
		}
		return s.moveJobCards(ctx, tx, id, CardPrinted, CardDispatched, now)
	})
}

func (s *Store) changeJob(ctx context.Context, id int64, what string, change func(tx *txn, status, now string) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("%s print job %d: %w", what, id, err)
	}
	defer tx.Rollback()
	var status, centre string
	err = tx.QueryRowContext(ctx, `SELECT status, centre FROM print_jobs WHERE id = ?`, id).Scan(&status, &centre)
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Errorf(schema.ENOTFOUND, "no print job %d", id)
	}
	if err != nil {
		return fmt.Errorf("%s print job %d: %w", what, id, err)
	}
	if err := centreScope(ctx, centre); err != nil {
		return err
	}
	if err := change(tx, status, formatTime(s.now())); err != nil {
		return fmt.Errorf("%s print job %d: %w", what, id, err)
	}
	return tx.Commit()
}

func (s *Store) moveJobCards(ctx context.Context, tx *txn, job int64, from, to, now string) error {
	persons, err := queryStrings(ctx, tx, `SELECT person_id FROM cards WHERE print_job = ? AND status = ?`, job, from)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cards SET status = ?, updated_at = ? WHERE print_job = ? AND status = ?`, to, now, job, from); err != nil {
		return err
	}
	for _, p := range persons {
		// The card's status is part of what the registry shows.
		if err := personUpdated(ctx, tx, p, now); err != nil {
			return err
		}
		if err := s.notifyPerson(ctx, tx, p, now); err != nil {
			return err
		}
	}
	return nil
}

// CardInfo is one card version as the registry holds it.
type CardInfo struct {
	Serial        string     `json:"serial"`
	HealthID      string     `json:"health_id"`
	Person        string     `json:"person"`
	Version       int        `json:"version"`
	Status        string     `json:"status"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
	Centre        string     `json:"centre"`
	PrintJob      int64      `json:"print_job,omitempty"`
	Problem       string     `json:"problem,omitempty"`
	IssuedAt      string     `json:"issued_at"`
	UpdatedAt     string     `json:"updated_at"`
	QR            string     `json:"-"`
	Card          cards.Card `json:"-"`
}

// Cards lists the card versions of a person (by health ID, person id or
// resident id), newest first.
func (s *Store) Cards(ctx context.Context, who string) ([]CardInfo, error) {
	tx, err := s.rdb.BeginTx(ctx, s.readTxOptions())
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	person, err := s.personOf(ctx, tx, who)
	if err != nil {
		return nil, err
	}
	return cardsWhere(ctx, tx, `person_id = ? ORDER BY version DESC`, person)
}

func cardsWhere(ctx context.Context, q querier, where string, args ...any) ([]CardInfo, error) {
	rows, err := q.QueryContext(ctx, `SELECT serial, health_id, person_id, version, status, COALESCE(revoked_reason, ''), centre,
		COALESCE(print_job, 0), COALESCE(problem, ''), issued_at, updated_at, qr, card FROM cards WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CardInfo
	for rows.Next() {
		var c CardInfo
		var body string
		if err := rows.Scan(&c.Serial, &c.HealthID, &c.Person, &c.Version, &c.Status, &c.RevokedReason, &c.Centre,
			&c.PrintJob, &c.Problem, &c.IssuedAt, &c.UpdatedAt, &c.QR, &body); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &c.Card); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// querier is what both *sql.DB and *sql.Tx offer for reading.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// personOf resolves a health ID (an alias of a merged person answers with
// the survivor), a person id or a resident id to the active person.
func (s *Store) personOf(ctx context.Context, q querier, who string) (string, error) {
	var person string
	var err error
	if hid, perr := cards.ParseHealthID(who); perr == nil {
		err = q.QueryRowContext(ctx, `SELECT COALESCE(p.merged_into, p.id) FROM health_ids h JOIN persons p ON p.id = h.person_id WHERE h.health_id = ?`, hid.Digits()).Scan(&person)
	} else {
		err = q.QueryRowContext(ctx, `SELECT COALESCE(p.merged_into, p.id) FROM persons p WHERE p.id = ?
			UNION ALL SELECT r.person_id FROM residents r WHERE r.id = ? AND r.person_id IS NOT NULL LIMIT 1`, who, who).Scan(&person)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", schema.Errorf(schema.ENOTFOUND, "no person with health ID, person id or resident id %s", who)
	}
	return person, err
}

// Reprint issues a new card version for a person (by health ID) and
// revokes the one before, so exactly one version is valid.
func (s *Store) Reprint(ctx context.Context, who, reason, by string) (CardInfo, error) {
	if !slices.Contains(ReprintReasons, reason) {
		return CardInfo{}, &schema.Error{Code: schema.EINVALID, Field: "reason", Rule: "one_of",
			Message: fmt.Sprintf("must be one of %s, not %q", strings.Join(ReprintReasons, ", "), reason)}
	}
	var serial string
	err := s.inTx(ctx, func(tx *txn, now string) error {
		person, err := s.personOf(ctx, tx, who)
		if err != nil {
			return err
		}
		if _, err := revokeCards(ctx, tx, person, reason, now); err != nil {
			return err
		}
		serial, err = s.queueCard(ctx, tx, person, now)
		return err
	})
	if err != nil {
		return CardInfo{}, fmt.Errorf("reprint %s: %w", who, err)
	}
	return s.card(ctx, serial)
}

// RevokeCard revokes a card by serial, or a person's valid card by health
// ID, with a reason; no new version is queued.
func (s *Store) RevokeCard(ctx context.Context, who, reason, by string) (int64, error) {
	if reason == "" {
		return 0, &schema.Error{Code: schema.EINVALID, Field: "reason", Rule: "required", Message: "is required"}
	}
	var n int64
	err := s.inTx(ctx, func(tx *txn, now string) error {
		res, err := tx.ExecContext(ctx, `UPDATE cards SET status = 'revoked', revoked_reason = ?, updated_at = ? WHERE serial = ? AND status != 'revoked'`, reason, now, who)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n > 0 {
			var person string
			d := eventData{Serial: who, Reason: reason}
			if err := tx.QueryRowContext(ctx, `SELECT person_id, version FROM cards WHERE serial = ?`, who).Scan(&person, &d.Version); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, EventCardRevoked, person, "", d, now); err != nil {
				return err
			}
			return s.notifyPerson(ctx, tx, person, now)
		}
		if done, err := queryStrings(ctx, tx, `SELECT status FROM cards WHERE serial = ?`, who); err != nil {
			return err
		} else if len(done) > 0 {
			return schema.Errorf(schema.ECONFLICT, "card %s is already revoked", who)
		}
		person, err := s.personOf(ctx, tx, who)
		if err != nil {
			return err
		}
		if n, err = revokeCards(ctx, tx, person, reason, now); err != nil {
			return err
		}
		return s.notifyPerson(ctx, tx, person, now)
	})
	if err != nil {
		return 0, fmt.Errorf("revoke %s: %w", who, err)
	}
	return n, nil
}

// DeliverCard records that a dispatched card reached its holder.
func (s *Store) DeliverCard(ctx context.Context, serial, by string) error {
	return s.inTx(ctx, func(tx *txn, now string) error {
		var centre string
		err := tx.QueryRowContext(ctx, `SELECT centre FROM cards WHERE serial = ?`, serial).Scan(&centre)
		if errors.Is(err, sql.ErrNoRows) {
			return schema.Errorf(schema.ENOTFOUND, "no card %s", serial)
		}
		if err != nil {
			return err
		}
		if err := centreScope(ctx, centre); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE cards SET status = 'delivered', updated_at = ? WHERE serial = ? AND status IN ('dispatched', 'printed')`, now, serial)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return schema.Errorf(schema.ECONFLICT, "card %s is not printed or dispatched", serial)
		}
		p, err := queryStrings(ctx, tx, `SELECT person_id FROM cards WHERE serial = ?`, serial)
		if err != nil || len(p) == 0 {
			return err
		}
		if err := personUpdated(ctx, tx, p[0], now); err != nil {
			return err
		}
		return s.notifyPerson(ctx, tx, p[0], now)
	})
}

func (s *Store) card(ctx context.Context, serial string) (CardInfo, error) {
	cs, err := cardsWhere(ctx, s.rdb, `serial = ?`, serial)
	if err != nil {
		return CardInfo{}, err
	}
	if len(cs) == 0 {
		return CardInfo{}, schema.Errorf(schema.ENOTFOUND, "no card %s", serial)
	}
	return cs[0], nil
}

func (s *Store) inTx(ctx context.Context, fn func(tx *txn, now string) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx, formatTime(s.now())); err != nil {
		return err
	}
	return tx.Commit()
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, func(rows *sql.Rows) (v string, err error) {
		err = rows.Scan(&v)
		return v, err
	})
}

// ParseJobID reads a print job id as typed.
func ParseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &schema.Error{Code: schema.EINVALID, Field: "job", Rule: "id", Message: fmt.Sprintf("%q is not a print job number", s)}
	}
	return id, nil
}
