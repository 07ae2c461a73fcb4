package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
)

// What happens around a person's life beyond matching: each is called
// inside the transaction that made the change, so a crash never leaves a
// person without what it should have got, or a card valid that should not be.

// personCreated issues a new person's health ID and queues its first card.
// e, when not nil, is the person's one resident (see createPerson).
func (s *Store) personCreated(ctx context.Context, tx *txn, person, now string, e *enrolment) error {
	hid, err := issueHealthID(ctx, tx, person, now)
	if err != nil {
		return err
	}
	if err := appendEvent(ctx, tx, EventPersonCreated, person, hid.Digits(), eventData{}, now); err != nil {
		return err
	}
	if e != nil {
		_, err = s.queueFirstCard(ctx, tx, person, hid, e, now)
		return err
	}
	_, err = s.queueCard(ctx, tx, person, now)
	return err
}

// personUpdated reports that what the registry shows of person may have
// changed: a resident joined it, left it, or was edited.
func personUpdated(ctx context.Context, tx *txn, person, now string) error {
	return appendEvent(ctx, tx, EventPersonUpdated, person, "", eventData{}, now)
}

// personMerged revokes the merged person's card: the survivor's card
// stands, and the merged health ID answers as an alias of the survivor.
func (s *Store) personMerged(ctx context.Context, tx *txn, survivor, merged, now string) error {
	if _, err := revokeCards(ctx, tx, merged, ReasonMerged, now); err != nil {
		return err
	}
	var into string
	if err := tx.QueryRowContext(ctx, `SELECT health_id FROM health_ids WHERE person_id = ?`, survivor).Scan(&into); err != nil {
		return fmt.Errorf("merge into %s: %w", survivor, err)
	}
	if err := appendEvent(ctx, tx, EventPersonMerged, merged, "", eventData{MergedInto: into}, now); err != nil {
		return err
	}
	if err := personUpdated(ctx, tx, survivor, now); err != nil {
		return err
	}
	return s.notifyPerson(ctx, tx, survivor, now)
}

// personUnmerged gives a person restored by unmerge a valid card again
// (its own health ID never went away) and tells both sides' laptops.
func (s *Store) personUnmerged(ctx context.Context, tx *txn, survivor, restored, now string) error {
	var valid int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cards WHERE person_id = ? AND status != 'revoked'`, restored).Scan(&valid); err != nil {
		return err
	}
	if err := appendEvent(ctx, tx, EventPersonUnmerged, restored, "", eventData{}, now); err != nil {
		return err
	}
	if err := personUpdated(ctx, tx, survivor, now); err != nil {
		return err
	}
	if valid == 0 {
		if _, err := s.queueCard(ctx, tx, restored, now); err != nil {
			return err
		}
	}
	return s.notifyPerson(ctx, tx, survivor, now)
}

// resolvePersonID turns what an operator types into a person id: a health
// ID (with or without dashes) becomes the person it was issued to;
// anything else is passed through, to be tried as a person or resident id.
func (s *Store) resolvePersonID(ctx context.Context, tx *txn, id string) (string, error) {
	hid, err := cards.ParseHealthID(id)
	if err != nil {
		return id, nil
	}
	var person string
	err = tx.QueryRowContext(ctx, `SELECT person_id FROM health_ids WHERE health_id = ?`, hid.Digits()).Scan(&person)
	if errors.Is(err, sql.ErrNoRows) {
		return "", schema.Errorf(schema.ENOTFOUND, "no person has health ID %s", hid)
	}
	return person, err
}
