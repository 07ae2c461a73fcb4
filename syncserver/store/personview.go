package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
)

// Person is what the registry tells a hospital about one human: the
// demographics of its most precise enrolment, its health ID and the IDs
// merged into it, and its current card. A merged person answers with
// Status "merged" and the survivor's health ID in MergedInto.
type Person struct {
	HealthID     string         `json:"health_id"` // dashed: 1234-5678-9012-34
	Status       string         `json:"status"`    // active, merged, deceased
	MergedInto   string         `json:"merged_into,omitempty"`
	Aliases      []string       `json:"aliases,omitempty"` // health IDs merged into this one
	Name         string         `json:"name"`
	Sex          string         `json:"sex"`
	DOB          string         `json:"dob,omitempty"` // YYYY-MM-DD, or YYYY
	DOBPrecision string         `json:"dob_precision,omitempty"`
	FatherName   string         `json:"father_name,omitempty"`
	SpouseName   string         `json:"spouse_name,omitempty"`
	Phone        string         `json:"phone,omitempty"`
	Address      schema.Address `json:"address"`
	Area         string         `json:"area,omitempty"`
	Card         *PersonCard    `json:"card,omitempty"`
	Enrolments   int            `json:"enrolments"` // residents linked to this person
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

// PersonCard is a person's newest card version.
type PersonCard struct {
	Serial  string `json:"serial"`
	Version int    `json:"version"`
	Status  string `json:"status"`
}

// YearOfBirth is the year part of DOB, or "" when unknown.
func (p Person) YearOfBirth() string {
	if len(p.DOB) >= 4 {
		return p.DOB[:4]
	}
	return ""
}

// dashed formats stored health ID digits for people.
func dashed(digits string) string {
	if id, err := cards.ParseHealthID(digits); err == nil {
		return id.String()
	}
	return digits
}

// personView builds the Person of person id inside tx. A merged person's
// residents moved to its survivor, so its demographics are the survivor's:
// one human.
func personView(ctx context.Context, tx querier, id string) (Person, error) {
	var (
		p                    Person
		mergedID, mergedInto sql.NullString
		created, updated     string
		hid                  sql.NullString
		rd, hd               sql.NullString
		serial, cardStatus   sql.NullString
		version              sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, `SELECT p.status, p.created_at, p.updated_at, h.health_id,
			p.merged_into, (SELECT hs.health_id FROM health_ids hs WHERE hs.person_id = p.merged_into)
		FROM persons p LEFT JOIN health_ids h ON h.person_id = p.id WHERE p.id = ?`, id).
		Scan(&p.Status, &created, &updated, &hid, &mergedID, &mergedInto)
	if errors.Is(err, sql.ErrNoRows) {
		return Person{}, schema.Errorf(schema.ENOTFOUND, "no person %s", id)
	}
	if err != nil {
		return Person{}, fmt.Errorf("person %s: %w", id, err)
	}
	p.HealthID = dashed(hid.String)
	if mergedInto.Valid {
		p.MergedInto = dashed(mergedInto.String)
	}
	p.CreatedAt, _ = time.Parse(timeFormat, created)
	p.UpdatedAt, _ = time.Parse(timeFormat, updated)

	// The enrolment shown is the one a card would print: the most precise
	// date of birth, then the earliest. A merged person's residents now
	// belong to the survivor, so its view falls back to them.
	owner := id
	if p.Status == "merged" && mergedID.Valid {
		owner = mergedID.String
	}
	err = tx.QueryRowContext(ctx, `SELECT r.data, h.data FROM residents r LEFT JOIN households h ON h.id = r.household_id
		WHERE r.person_id = ? AND r.deleted = 0
		ORDER BY CASE json_extract(r.data, '$.dob_precision') WHEN 'day' THEN 0 WHEN 'year' THEN 1 ELSE 2 END, r.rowid
		LIMIT 1`, owner).Scan(&rd, &hd)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Person{}, fmt.Errorf("person %s: enrolment: %w", id, err)
	}
	if rd.Valid {
		var r schema.Resident
		if err := json.Unmarshal([]byte(rd.String), &r); err != nil {
			return Person{}, fmt.Errorf("person %s: enrolment: %w", id, err)
		}
		p.Name, p.Sex, p.DOB, p.DOBPrecision = r.Name, r.Sex, r.DOB, r.DOBPrecision
		p.FatherName, p.SpouseName, p.Phone = r.FatherName, r.SpouseName, r.Phone
	}
	if hd.Valid {
		var h schema.Household
		if err := json.Unmarshal([]byte(hd.String), &h); err != nil {
			return Person{}, fmt.Errorf("person %s: household: %w", id, err)
		}
		p.Address, p.Area = h.Address, h.Area
	}
	if p.Status != "merged" {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE person_id = ? AND deleted = 0`, id).Scan(&p.Enrolments); err != nil {
			return Person{}, fmt.Errorf("person %s: %w", id, err)
		}
	}

	err = tx.QueryRowContext(ctx, `SELECT serial, version, status FROM cards WHERE person_id = ? ORDER BY version DESC LIMIT 1`, id).
		Scan(&serial, &version, &cardStatus)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Person{}, fmt.Errorf("person %s: card: %w", id, err)
	}
	if serial.Valid {
		p.Card = &PersonCard{Serial: serial.String, Version: int(version.Int64), Status: cardStatus.String}
	}

	// Aliases: every person merged, directly or through a chain, into this one.
	// Merging flattens chains: merged_into always names the final survivor.
	rows, err := tx.QueryContext(ctx, `SELECT h.health_id FROM persons p JOIN health_ids h ON h.person_id = p.id
		WHERE p.merged_into = ? ORDER BY h.health_id`, id)
	if err != nil {
		return Person{}, fmt.Errorf("person %s: aliases: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return Person{}, err
		}
		p.Aliases = append(p.Aliases, dashed(a))
	}
	return p, rows.Err()
}
