package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
)

// Card statuses and revocation reasons.
const (
	CardQueued     = "queued"
	CardPrinted    = "printed"
	CardDispatched = "dispatched"
	CardDelivered  = "delivered"
	CardRevoked    = "revoked"

	ReasonMerged    = "merged"
	ReasonLost      = "lost"
	ReasonDamaged   = "damaged"
	ReasonCorrected = "corrected"
)

// ReprintReasons are the reasons `cards reprint` accepts.
var ReprintReasons = []string{ReasonLost, ReasonDamaged, ReasonCorrected}

// CardSettings are what every card of this deployment prints besides the
// person: kept short because every issuer byte costs QR modules.
type CardSettings struct {
	Issuer    string
	Programme string
	Helpline  string
}

// DefaultCardSettings are used unless WithCardSettings says otherwise.
var DefaultCardSettings = CardSettings{Issuer: "DL", Programme: "Delhi e-Health Card", Helpline: "1800-11-4477"}

// WithCardSettings sets the issuer, programme name and helpline.
func WithCardSettings(c CardSettings) Option { return func(s *Store) { s.cardSettings = c } }

// CardKeys is the signing key ring: private keys in files, never in the
// database.
func (s *Store) CardKeys() *cards.KeyRing {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return s.keyRing
}

func (s *Store) openKeyRing() error {
	dir := filepath.Join(s.keysDir, "card-signing")
	ring, err := cards.OpenKeyRing(dir)
	if err != nil {
		return err
	}
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if st, err := os.Stat(filepath.Join(dir, "keys.json")); err == nil {
		s.keyRingStamp = st.ModTime()
	}
	if _, err := ring.Active(); err != nil {
		if _, err := ring.Rotate(); err != nil {
			return fmt.Errorf("first signing key: %w", err)
		}
	}
	s.keyRing = ring
	return nil
}

// refreshKeyRing reloads the key ring when `syncserver keys rotate` or
// `keys retire` changed it from another process, so a running server never
// signs with a key the operator has rotated away or retired.
func (s *Store) refreshKeyRing() error {
	s.keyMu.RLock()
	dir, stamp := s.keyRing.Dir(), s.keyRingStamp
	s.keyMu.RUnlock()
	st, err := os.Stat(filepath.Join(dir, "keys.json"))
	if err != nil || st.ModTime().Equal(stamp) {
		return nil
	}
	return s.openKeyRing()
}

// issueHealthID gives person a new random health ID. A collision with an
// ID issued before (one in ten million at a city's scale) draws again:
// IDs are never reused.
func issueHealthID(ctx context.Context, tx *txn, person, now string) (cards.HealthID, error) {
	for range 10 {
		id, err := cards.NewHealthID(rand.Reader)
		if err != nil {
			return cards.HealthID{}, err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO health_ids (health_id, person_id, issued_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, id.Digits(), person, now)
		if err != nil {
			return cards.HealthID{}, fmt.Errorf("issue health ID: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return id, nil
		}
	}
	return cards.HealthID{}, errors.New("issue health ID: ten collisions in a row; is the random source broken?")
}

// freshSerial draws serials until one is unused: 40 random bits keep the
// QR short, and at a city's millions of cards two draws meeting is
// unlikely but not negligible.
func freshSerial(ctx context.Context, tx *txn) (string, error) {
	for range 10 {
		serial, err := newSerial()
		if err != nil {
			return "", err
		}
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cards WHERE serial = ?`, serial).Scan(&used); err != nil {
			return "", err
		}
		if used == 0 {
			return serial, nil
		}
	}
	return "", errors.New("card serial: ten collisions in a row; is the random source broken?")
}

// newSerial is a card serial: short (it is printed and in the QR), random,
// unambiguous in Crockford-like base32 without padding.
func newSerial() (string, error) {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "C" + base32.StdEncoding.EncodeToString(b), nil
}

// centreOf is the printing centre that serves an area: its state and
// district, so DL-NW-W05 prints at DL-NW.
func centreOf(area string) string {
	parts := strings.SplitN(area, "-", 3)
	if len(parts) >= 2 {
		return parts[0] + "-" + parts[1]
	}
	return area
}

// queueCard makes the next card version of person from its most precise
// enrolment, signs its QR and queues it for the person's printing centre.
// The caller has revoked any card that should no longer be valid.
func (s *Store) queueCard(ctx context.Context, tx *txn, person, now string) (string, error) {
	var healthID, rd, hd string
	err := tx.QueryRowContext(ctx, `SELECT health_id FROM health_ids WHERE person_id = ?`, person).Scan(&healthID)
	if err != nil {
		return "", fmt.Errorf("queue card for %s: health ID: %w", person, err)
	}
	err = tx.QueryRowContext(ctx, `SELECT r.data, COALESCE(h.data, '{}') FROM residents r LEFT JOIN households h ON h.id = r.household_id
		WHERE r.person_id = ? AND r.deleted = 0
		ORDER BY CASE json_extract(r.data, '$.dob_precision') WHEN 'day' THEN 0 WHEN 'year' THEN 1 ELSE 2 END, r.rowid
		LIMIT 1`, person).Scan(&rd, &hd)
	if err != nil {
		return "", fmt.Errorf("queue card for %s: enrolment: %w", person, err)
	}
	var r schema.Resident
	var h schema.Household
	if err := json.Unmarshal([]byte(rd), &r); err != nil {
		return "", err
	}
	if err := json.Unmarshal([]byte(hd), &h); err != nil {
		return "", err
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM cards WHERE person_id = ?`, person).Scan(&version); err != nil {
		return "", err
	}
	serial, err := s.insertCard(ctx, tx, person, healthID, &r, &h, version, now)
	if err != nil {
		return "", err
	}
	return serial, s.notifyPerson(ctx, tx, person, now)
}

// enrolment is a resident as stored, decoded: the one resident of a
// person the matcher has just made.
type enrolment struct {
	resident string // its id
	device   string // the laptop that enrolled it
	r        *schema.Resident
	h        *schema.Household
}

// queueFirstCard is queueCard for a person just created with the one
// resident e, whose health ID hid was just issued: what queueCard would
// read back is known, so it is not read again. The card is the person's
// first (version 1) and e its only enrolment.
func (s *Store) queueFirstCard(ctx context.Context, tx *txn, person string, hid cards.HealthID, e *enrolment, now string) (string, error) {
	healthID := hid.Digits()
	serial, err := s.insertCard(ctx, tx, person, healthID, e.r, e.h, 1, now)
	if err != nil {
		return "", err
	}
	// notifyPerson, for a person whose only resident is e and whose only
	// card is the one just queued.
	at, _ := time.Parse(timeFormat, now)
	if _, err := recordChange(ctx, tx, e.device, schema.Change{Kind: "person", RecordID: e.resident, HealthID: hid.String(), CardStatus: CardQueued}, at); err != nil {
		return "", err
	}
	return serial, nil
}

// insertCard signs and queues card version of person, made from enrolment
// r in household h, and records the event.
func (s *Store) insertCard(ctx context.Context, tx *txn, person, healthID string, r *schema.Resident, h *schema.Household, version int, now string) (string, error) {
	serial, err := freshSerial(ctx, tx)
	if err != nil {
		return "", err
	}
	hid, err := cards.ParseHealthID(healthID)
	if err != nil {
		return "", err
	}
	issued, _ := time.Parse(timeFormat, now)
	c := cards.Card{
		Programme: s.cardSettings.Programme, Helpline: s.cardSettings.Helpline,
		HealthID: hid, Name: r.Name, DOB: r.DOB, DOBPrecision: r.DOBPrecision, Sex: r.Sex,
		IssueDate: issued, Serial: serial, Version: version,
	}
	var problem any
	if err := cards.CheckPrintable("name", r.Name); err != nil {
		problem = err.Error()
	}
	if err := s.refreshKeyRing(); err != nil {
		return "", fmt.Errorf("queue card: %w", err)
	}
	key, err := s.CardKeys().Active()
	if err != nil {
		return "", fmt.Errorf("queue card: %w", err)
	}
	if c.QR, err = cards.Sign(c.Claims(s.cardSettings.Issuer), key); err != nil {
		return "", fmt.Errorf("queue card: %w", err)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cards (serial, person_id, health_id, version, status, centre, card, qr, problem, issued_at, updated_at)
		VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`, serial, person, healthID, version, centreOf(h.Area), string(body), c.QR, problem, now, now); err != nil {
		return "", fmt.Errorf("queue card for %s: %w", person, err)
	}
	if err := appendEvent(ctx, tx, EventCardIssued, person, healthID, eventData{Serial: serial, Version: version}, now); err != nil {
		return "", err
	}
	return serial, nil
}

// revokeCards revokes every valid card of person.
func revokeCards(ctx context.Context, tx *txn, person, reason, now string) (int64, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE cards SET status = 'revoked', revoked_reason = ?, updated_at = ?
		WHERE person_id = ? AND status != 'revoked' RETURNING serial, version`, reason, now, person)
	if err != nil {
		return 0, fmt.Errorf("revoke cards of %s: %w", person, err)
	}
	var revoked []eventData
	for rows.Next() {
		d := eventData{Reason: reason}
		if err := rows.Scan(&d.Serial, &d.Version); err != nil {
			rows.Close()
			return 0, fmt.Errorf("revoke cards of %s: %w", person, err)
		}
		revoked = append(revoked, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("revoke cards of %s: %w", person, err)
	}
	for _, d := range revoked {
		if err := appendEvent(ctx, tx, EventCardRevoked, person, "", d, now); err != nil {
			return 0, err
		}
	}
	return int64(len(revoked)), nil
}

// notifyPerson tells the laptops that enrolled each of person's residents
// its health ID and card status, through their change logs.
func (s *Store) notifyPerson(ctx context.Context, tx *txn, person, now string) error {
	var healthID, status sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT h.health_id,
			(SELECT status FROM cards c WHERE c.person_id = h.person_id ORDER BY version DESC LIMIT 1)
		FROM health_ids h WHERE h.person_id = ?`, person).Scan(&healthID, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, device_id FROM residents WHERE person_id = ? AND deleted = 0`, person)
	if err != nil {
		return err
	}
	type target struct{ resident, device string }
	var targets []target
	for rows.Next() {
		var t target
		if err := rows.Scan(&t.resident, &t.device); err != nil {
			rows.Close()
			return err
		}
		targets = append(targets, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	at, _ := time.Parse(timeFormat, now)
	hid := dashed(healthID.String)
	for _, t := range targets {
		if _, err := recordChange(ctx, tx, t.device, schema.Change{Kind: "person", RecordID: t.resident, HealthID: hid, CardStatus: status.String}, at); err != nil {
			return err
		}
	}
	return nil
}
