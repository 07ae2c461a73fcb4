package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
)

// ReadPerson returns the person with health ID hid and audits the read as
// action. A merged ID answers with its survivor when follow is set (the
// hospital API: "this patient is now that ID"); without follow the merged
// person itself answers, pointing at its survivor (FHIR's replaced-by).
func (s *Store) ReadPerson(ctx context.Context, by Reader, action, hid string, follow bool) (Person, error) {
	id, err := cards.ParseHealthID(hid)
	if err != nil {
		return Person{}, &schema.Error{Code: schema.ENOTFOUND, Field: "health_id", Rule: "format",
			Message: fmt.Sprintf("%q is not a health ID: %v", hid, err)}
	}
	var p Person
	err = s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
		var person string
		var merged sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT p.id, p.merged_into FROM health_ids h JOIN persons p ON p.id = h.person_id WHERE h.health_id = ?`, id.Digits()).Scan(&person, &merged)
		if errors.Is(err, sql.ErrNoRows) {
			return schema.Errorf(schema.ENOTFOUND, "no person has health ID %s", id)
		}
		if err != nil {
			return err
		}
		if follow && merged.Valid {
			person = merged.String
		}
		if p, err = personView(ctx, tx, person); err != nil {
			return err
		}
		detail := ""
		if p.HealthID != id.String() {
			detail = "asked for " + id.String()
		}
		return appendAudit(ctx, tx, by, action, person, p.HealthID, detail, now)
	})
	if err != nil {
		return Person{}, fmt.Errorf("read person %s: %w", hid, err)
	}
	return p, nil
}

// Verdict reasons the online check adds to cards.Verify's offline ones.
const (
	ReasonUnknownCard = "unknown_card" // genuinely signed, but not a card this registry issued
	ReasonMergedCard  = "merged"       // the person was merged into another health ID
)

// CardVerdict is the answer to a scanned card: valid, or not and why, with
// the person it names (from the registry, so a merged card names the
// survivor's health ID).
type CardVerdict struct {
	Status     string `json:"status"` // valid or invalid
	Reason     string `json:"reason,omitempty"`
	Detail     string `json:"detail,omitempty"`
	HealthID   string `json:"health_id,omitempty"`
	Name       string `json:"name,omitempty"`
	BirthYear  string `json:"birth_year,omitempty"`
	Sex        string `json:"sex,omitempty"`
	Serial     string `json:"serial,omitempty"`
	Version    int    `json:"version,omitempty"`
	Current    int    `json:"current_version,omitempty"` // the newest version of the person's card
	MergedInto string `json:"merged_into,omitempty"`
}

// VerifyCard checks a scanned QR text as a hospital must: the signature
// and key offline, then, from the registry, that this card version is the
// person's current one and not revoked. A valid signature reads the
// person, so it is audited; a forgery reads nothing.
func (s *Store) VerifyCard(ctx context.Context, by Reader, qr string) (CardVerdict, error) {
	keys, err := s.verifyKeys()
	if err != nil {
		return CardVerdict{}, fmt.Errorf("verify card: %w", err)
	}
	claims, _, verr := cards.Verify(qr, keys, s.now())
	if verr != nil {
		ve := &cards.VerifyError{}
		if !errors.As(verr, &ve) {
			return CardVerdict{}, fmt.Errorf("verify card: %w", verr)
		}
		return CardVerdict{Status: "invalid", Reason: ve.Reason, Detail: ve.Detail}, nil
	}
	v := CardVerdict{Status: "valid", HealthID: claims.HealthID.String(), Name: claims.Name, Sex: claims.Sex,
		Serial: claims.Serial, Version: claims.CardVersion}
	if len(claims.DOB) >= 4 {
		v.BirthYear = claims.DOB[:4]
	}
	offline := v
	err = s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
		v = offline // a batch that starts over runs this again
		var (
			person, status    string
			reason, survivor  sql.NullString
			version, newest   int
			personHID, merged sql.NullString
		)
		// c.health_id is the person's health ID: a card is issued with it
		// and neither changes, so the lookup need not read health_ids
		// (this runs inside the one write transaction every verification
		// waits for).
		err := tx.QueryRowContext(ctx, `SELECT c.person_id, c.status, c.revoked_reason, c.version,
				(SELECT MAX(version) FROM cards n WHERE n.person_id = c.person_id),
				p.merged_into, c.health_id, (SELECT health_id FROM health_ids m WHERE m.person_id = p.merged_into)
			FROM cards c JOIN persons p ON p.id = c.person_id
			WHERE c.serial = ?`, claims.Serial).Scan(&person, &status, &reason, &version, &newest, &survivor, &personHID, &merged)
		if errors.Is(err, sql.ErrNoRows) {
			v.Status, v.Reason = "invalid", ReasonUnknownCard
			v.Detail = fmt.Sprintf("serial %s is not a card of this registry", claims.Serial)
			v.Name, v.BirthYear, v.Sex = "", "", ""
			return nil
		}
		if err != nil {
			return err
		}
		v.Current = newest
		switch {
		case survivor.Valid:
			v.Status, v.Reason = "invalid", ReasonMergedCard
			v.MergedInto = dashed(merged.String)
			v.HealthID = v.MergedInto
			v.Detail = "merged into " + v.MergedInto
		case version < newest:
			v.Status, v.Reason = "invalid", cards.ReasonSuperseded
			v.Detail = fmt.Sprintf("superseded by version %d", newest)
		case status == CardRevoked:
			v.Status, v.Reason = "invalid", cards.ReasonRevokedCard
			v.Detail = "revoked: " + reason.String
		}
		detail := fmt.Sprintf("serial %s v%d: %s", claims.Serial, version, v.Status)
		if v.Reason != "" {
			detail += " (" + v.Reason + ")"
		}
		return appendAudit(ctx, tx, by, "card.verify", person, personHID.String, detail, now)
	})
	if err != nil {
		return CardVerdict{}, fmt.Errorf("verify card: %w", err)
	}
	return v, nil
}

// verifyKeySet caches the key ring's public keys for verification: a
// hospital's scans must not rebuild them from the ring each time.
type verifyKeySet struct {
	mu   sync.Mutex
	ring *cards.KeyRing
	keys cards.KeySet
}

// verifyKeys returns the verifying keys, rebuilt when the ring was
// reloaded (keys rotated or retired by another process).
func (s *Store) verifyKeys() (cards.KeySet, error) {
	if err := s.refreshKeyRing(); err != nil {
		return cards.KeySet{}, err
	}
	ring := s.CardKeys()
	c := &s.verifySet
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ring == ring {
		return c.keys, nil
	}
	keys, err := ring.KeySet()
	if err != nil {
		return cards.KeySet{}, err
	}
	c.ring, c.keys = ring, keys
	return keys, nil
}
