package surveyor

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveygen"
	"github.com/doorstep-health/doorstep/syncserver/match"
)

// Draft is a household form as typed so far: not validated, not synced,
// never sent. HouseholdID is set when the draft edits a saved household.
//
// A draft never holds a full Aadhaar number: the form masks the number as
// soon as it is entered (only the last four digits stay visible) and strips
// it from what it saves as a draft, so the number lives only in the page
// until the household itself is saved, hashed. SaveDraft refuses a form
// that holds one anyway, so a bug in the form cannot leak a number to disk.
type Draft struct {
	ID          string    `json:"id"`
	HouseholdID string    `json:"household_id,omitempty"`
	Form        string    `json:"form"` // the form's fields as JSON, as typed but for the Aadhaar number
	UpdatedAt   time.Time `json:"updated_at"`
}

// Lookalike is a member being enrolled who resembles someone already on
// this laptop.
type Lookalike struct {
	Member      int    `json:"member"` // index in the household being enrolled
	ResidentID  string `json:"resident_id"`
	HouseholdID string `json:"household_id"`
	Name        string `json:"name"`
	DOB         string `json:"dob"`
	Address     string `json:"address"`
	Reason      string `json:"reason"` // name_and_birth_year, phone, aadhaar
}

// Reasons a member looks like a resident, strongest first.
const (
	ReasonAadhaar          = "aadhaar"
	ReasonPhone            = "phone"
	ReasonNameAndBirthYear = "name_and_birth_year"
)

// Place is a locality with its pincode and city, offered as the worker types.
type Place struct {
	Locality string `json:"locality"`
	Pincode  string `json:"pincode"`
	City     string `json:"city"`
}

// Limits of drafts, lookalikes and places.
const (
	MaxDraftBytes = 256 << 10
	MaxLookalikes = 5 // per member
	DefaultPlaces = 10
	MaxPlaces     = 50
)

const (
	// draftTimeLayout is fixed width, so that updated_at sorts as text.
	draftTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

	// Lookup keys in resident_keys start with their kind.
	keyAadhaar = "a:"
	keyPhone   = "p:"
	keyName    = "n:"

	// residentKeysVersion is raised when residentKeys changes, so that every
	// resident is keyed again; 0002_drafts.sql writes 1 on a store without
	// residents.
	settingResidentKeys = "resident_keys"
	residentKeysVersion = "1"
)

// SaveDraft keeps a draft, replacing the one with its id. The draft is on
// disk when it returns (the store commits with synchronous=FULL). It
// refuses, with an invalid error naming the field, an id that is empty or
// longer than 64 characters, and a form that is not JSON, is larger than
// MaxDraftBytes, or holds a full Aadhaar number (rule no_aadhaar).
func (s *Store) SaveDraft(ctx context.Context, d Draft) error {
	switch {
	case strings.TrimSpace(d.ID) == "":
		return draftError("id", "required", "is required")
	case utf8.RuneCountInString(d.ID) > schema.MaxIDLen:
		return draftError("id", "max_length", "must be at most %d characters", schema.MaxIDLen)
	case utf8.RuneCountInString(d.HouseholdID) > schema.MaxIDLen:
		return draftError("household_id", "max_length", "must be at most %d characters", schema.MaxIDLen)
	case len(d.Form) > MaxDraftBytes:
		return draftError("form", "max_size", "must be at most %d KiB", MaxDraftBytes>>10)
	case !json.Valid([]byte(d.Form)):
		return draftError("form", "json", "must be JSON")
	case formHoldsAadhaar([]byte(d.Form)):
		return draftError("form", "no_aadhaar", "holds a full Aadhaar number; a draft keeps only its last four digits")
	}
	var hid any
	if d.HouseholdID != "" {
		hid = d.HouseholdID
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO drafts (id, household_id, form, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET household_id = excluded.household_id, form = excluded.form, updated_at = excluded.updated_at`,
		d.ID, hid, d.Form, s.now().UTC().Format(draftTimeLayout))
	if err != nil {
		return fmt.Errorf("save draft %s: %w", d.ID, err)
	}
	return nil
}

func draftError(field, rule, format string, args ...any) error {
	return &schema.Error{Code: schema.EINVALID, Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// Draft returns one draft, or a not_found error.
func (s *Store) Draft(ctx context.Context, id string) (Draft, error) {
	d, err := scanDraft(s.db.QueryRowContext(ctx, `SELECT id, COALESCE(household_id, ''), form, updated_at
		FROM drafts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Draft{}, schema.Errorf(schema.ENOTFOUND, "no draft %s on this laptop", id)
	}
	if err != nil {
		return Draft{}, fmt.Errorf("read draft %s: %w", id, err)
	}
	return d, nil
}

// Drafts lists drafts, newest first.
func (s *Store) Drafts(ctx context.Context) ([]Draft, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, COALESCE(household_id, ''), form, updated_at
		FROM drafts ORDER BY updated_at DESC, rowid DESC`)
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	drafts, err := sqlitedb.Collect(rows, func(rows *sql.Rows) (Draft, error) { return scanDraft(rows) })
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	return drafts, nil
}

func scanDraft(row interface{ Scan(...any) error }) (Draft, error) {
	var d Draft
	var at string
	if err := row.Scan(&d.ID, &d.HouseholdID, &d.Form, &at); err != nil {
		return Draft{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Draft{}, fmt.Errorf("draft %s: updated_at %q: %w", d.ID, at, err)
	}
	d.UpdatedAt = t
	return d, nil
}

// DeleteDraft removes a draft (after its household is saved). Removing a
// draft that is not there is not an error: the page may ask twice.
func (s *Store) DeleteDraft(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM drafts WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete draft %s: %w", id, err)
	}
	return nil
}

// formHoldsAadhaar reports whether any text or number in a JSON form (keys
// included) holds what looks like a full Aadhaar number: a run of exactly
// twelve digits, possibly grouped by single spaces or hyphens as people
// write it, that AadhaarValid accepts. A run right after "+" is a phone
// number in international form, and under a phone field twelve digits
// starting with 91 are a country code and a mobile number (as
// schema.NormalizePhone reads them); neither is refused.
func formHoldsAadhaar(form []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(form))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false
	}
	var walk func(v any, key string) bool
	walk = func(v any, key string) bool {
		switch x := v.(type) {
		case string:
			return textHoldsAadhaar(x, isPhoneKey(key))
		case json.Number:
			return textHoldsAadhaar(x.String(), isPhoneKey(key))
		case []any:
			for _, e := range x {
				if walk(e, key) {
					return true
				}
			}
		case map[string]any:
			for k, e := range x {
				if textHoldsAadhaar(k, false) || walk(e, k) {
					return true
				}
			}
		}
		return false
	}
	return walk(v, "")
}

func nextIsDigit(s string, i int) bool { return i < len(s) && s[i] >= '0' && s[i] <= '9' }

func isPhoneKey(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "phone") || strings.Contains(k, "mobile")
}

func textHoldsAadhaar(s string, phone bool) bool {
	digits := make([]byte, 0, 16)
	afterPlus := false
	check := func() bool {
		ok := len(digits) == 12 && !afterPlus && !(phone && digits[0] == '9' && digits[1] == '1') &&
			schema.AadhaarValid(string(digits))
		digits = digits[:0]
		return ok
	}
	prev := rune(0) // the rune before the current one
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if len(digits) == 0 {
				afterPlus = prev == '+'
			}
			digits = append(digits, byte(c))
		case (c == '-' || unicode.IsSpace(c)) && prev >= '0' && prev <= '9' && nextIsDigit(s, i+utf8.RuneLen(c)):
			// one separator between digit groups keeps the run going
		case len(digits) > 0:
			if check() {
				return true
			}
		}
		prev = c
	}
	return check()
}

// Lookalikes finds members of h who resemble residents already enrolled on
// this laptop: the same Aadhaar number (by its keyed hash), the same phone,
// or the same phonetic name key (the server matcher's, so laptop and server
// agree on what sounds alike) and birth year. Each member is read as
// SaveHousehold would store it (normalised: an age becomes a year of
// birth, a phone +91 and ten digits), but h is not changed and need not be
// valid: a half-typed form is checked with what it has. A member's Aadhaar
// number is hashed with the laptop's key in memory and never stored. When h
// has the id of a saved household (an edit), that household's own members
// are not reported. It returns one Lookalike per member and resident, with
// the strongest reason (aadhaar, then phone, then name and birth year), at
// most MaxLookalikes per member, in member order.
func (s *Store) Lookalikes(ctx context.Context, h *schema.Household) ([]Lookalike, error) {
	if h == nil {
		return []Lookalike{}, nil
	}
	reg, err := s.Registration(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.ensureResidentKeys(ctx); err != nil {
		return nil, err
	}
	c := copyHousehold(h)
	c.Normalize(s.now())
	own := strings.TrimSpace(h.ID)
	memberIDs := map[string]bool{}
	for _, m := range h.Members {
		if m.ID != "" {
			memberIDs[m.ID] = true
		}
	}
	out := []Lookalike{}
	for i := range c.Members {
		m := &c.Members[i]
		if schema.AadhaarValid(m.Aadhaar) {
			m.AadhaarHash = schema.AadhaarHash(reg.AadhaarKey, m.Aadhaar)
		}
		m.Aadhaar = ""
		keys := residentKeys(m)
		if len(keys) == 0 {
			continue
		}
		found, err := s.lookalikesOf(ctx, i, keys, own, memberIDs)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

func (s *Store) lookalikesOf(ctx context.Context, member int, keys []string, own string, skip map[string]bool) ([]Lookalike, error) {
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, k)
	}
	args = append(args, own)
	// Strongest key first; the index on resident_keys.key finds each in a
	// few page reads whatever the number of residents.
	rows, err := s.db.QueryContext(ctx, `SELECT k.key, r.id, r.household_id, r.data, h.data
		FROM resident_keys k
		JOIN residents r ON r.id = k.resident_id
		JOIN households h ON h.id = r.household_id
		WHERE k.key IN (?`+strings.Repeat(", ?", len(keys)-1)+`) AND r.deleted = 0 AND r.household_id <> ?
		ORDER BY CASE substr(k.key, 1, 2) WHEN 'a:' THEN 0 WHEN 'p:' THEN 1 ELSE 2 END, r.rowid`, args...)
	if err != nil {
		return nil, fmt.Errorf("find lookalikes: %w", err)
	}
	defer rows.Close()
	var out []Lookalike
	seen := map[string]bool{}
	for rows.Next() && len(out) < MaxLookalikes {
		var key, rid, hid, rdata, hdata string
		if err := rows.Scan(&key, &rid, &hid, &rdata, &hdata); err != nil {
			return nil, fmt.Errorf("find lookalikes: %w", err)
		}
		if seen[rid] || skip[rid] {
			continue
		}
		seen[rid] = true
		var r schema.Resident
		if err := json.Unmarshal([]byte(rdata), &r); err != nil {
			return nil, fmt.Errorf("decode resident %s: %w", rid, err)
		}
		var hh schema.Household
		if err := json.Unmarshal([]byte(hdata), &hh); err != nil {
			return nil, fmt.Errorf("decode household %s: %w", hid, err)
		}
		a := hh.Address
		out = append(out, Lookalike{Member: member, ResidentID: rid, HouseholdID: hid, Name: r.Name, DOB: r.DOB,
			Address: strings.Join(nonEmpty(a.Line1, a.Locality, a.City, a.Pincode), ", "), Reason: keyReason(key)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find lookalikes: %w", err)
	}
	return out, nil
}

func keyReason(key string) string {
	switch {
	case strings.HasPrefix(key, keyAadhaar):
		return ReasonAadhaar
	case strings.HasPrefix(key, keyPhone):
		return ReasonPhone
	}
	return ReasonNameAndBirthYear
}

// copyHousehold copies h deeply enough that Normalize leaves h alone.
func copyHousehold(h *schema.Household) *schema.Household {
	c := *h
	c.Members = slices.Clone(h.Members)
	for i := range c.Members {
		c.Members[i].Documents = slices.Clone(c.Members[i].Documents)
	}
	return &c
}

// residentKeys are the resident_keys rows of a normalised, protected
// resident: its Aadhaar hash, its phone, and the server matcher's phonetic
// name key with the birth year.
func residentKeys(r *schema.Resident) []string {
	keys := make([]string, 0, 3)
	if r.AadhaarHash != "" {
		keys = append(keys, keyAadhaar+r.AadhaarHash)
	}
	if p, ok := schema.NormalizePhone(r.Phone); ok {
		keys = append(keys, keyPhone+p)
	}
	if y := r.BirthYear(); y > 0 && r.Name != "" {
		k := match.PhoneticKey(r.Name)
		if k != "" {
			keys = append(keys, keyName+k+":"+strconv.Itoa(y))
		}
	}
	return keys
}

// keyResident writes the lookup keys of a resident just inserted.
func (w *writer) keyResident(ctx context.Context, r *schema.Resident) error {
	for _, k := range residentKeys(r) {
		if _, err := w.insKey.ExecContext(ctx, k, r.ID); err != nil {
			return fmt.Errorf("key resident %s: %w", r.ID, err)
		}
	}
	return nil
}

// rekeyResident replaces the lookup keys of a resident given a new version
// (data is its wire form); a deleted one keeps none.
func (w *writer) rekeyResident(ctx context.Context, id, data string, deleted bool) error {
	if _, err := w.delKeys.ExecContext(ctx, id); err != nil {
		return fmt.Errorf("key resident %s: %w", id, err)
	}
	if deleted {
		return nil
	}
	var r schema.Resident
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return fmt.Errorf("key resident %s: %w", id, err)
	}
	r.ID = id
	return w.keyResident(ctx, &r)
}

// ensureResidentKeys keys every live resident once, when the store holds
// residents saved before resident_keys existed or keyed by an older
// version of residentKeys. Saves keep the table current after that.
func (s *Store) ensureResidentKeys(ctx context.Context) error {
	v, err := getSetting(ctx, s.db, settingResidentKeys)
	if err != nil || v == residentKeysVersion {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("key residents: %w", err)
	}
	defer tx.Rollback()
	// Read again under the write lock: another call may have done it.
	if v, err := getSetting(ctx, tx, settingResidentKeys); err != nil || v == residentKeysVersion {
		return err
	}
	type row struct{ key, id string }
	var keyed []row
	rows, err := tx.QueryContext(ctx, `SELECT id, data FROM residents WHERE deleted = 0`)
	if err != nil {
		return fmt.Errorf("key residents: %w", err)
	}
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			rows.Close()
			return fmt.Errorf("key residents: %w", err)
		}
		var r schema.Resident
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			rows.Close()
			return fmt.Errorf("key residents: decode resident %s: %w", id, err)
		}
		for _, k := range residentKeys(&r) {
			keyed = append(keyed, row{k, id})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("key residents: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM resident_keys`); err != nil {
		return fmt.Errorf("key residents: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO resident_keys (key, resident_id) VALUES (?, ?)`)
	if err != nil {
		return fmt.Errorf("key residents: %w", err)
	}
	defer ins.Close()
	for _, k := range keyed {
		if _, err := ins.ExecContext(ctx, k.key, k.id); err != nil {
			return fmt.Errorf("key residents: %w", err)
		}
	}
	if err := setSetting(ctx, tx, settingResidentKeys, residentKeysVersion); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("key residents: %w", err)
	}
	return nil
}

// Places offers localities and pincodes matching prefix: a case-insensitive
// prefix of the locality, or of the pincode when prefix is all digits.
// First the places of households on this laptop (distinct locality, pincode
// and city, the most used first), then those of the built-in gazetteer of
// Delhi not already offered (matched by their name or a common other
// spelling, offered under their name, in alphabetical order). limit is 10
// when not positive and at most 50.
func (s *Store) Places(ctx context.Context, prefix string, limit int) ([]Place, error) {
	if limit <= 0 {
		limit = DefaultPlaces
	}
	limit = min(limit, MaxPlaces)
	prefix = strings.ToLower(strings.Join(strings.Fields(prefix), " "))
	byPin := prefix != "" && strings.Trim(prefix, "0123456789") == ""
	matches := func(locality, pincode string) bool {
		if byPin {
			return strings.HasPrefix(pincode, prefix)
		}
		return strings.HasPrefix(strings.ToLower(locality), prefix)
	}

	// The grouping reads the households_place index (the expressions must
	// stay as the index spells them) and leaves a row per place, a few
	// hundred at most, for Go to match: LIKE folds only ASCII case.
	rows, err := s.db.QueryContext(ctx, `SELECT json_extract(data, '$.address.locality'),
			json_extract(data, '$.address.pincode'), json_extract(data, '$.address.city')
		FROM households
		GROUP BY json_extract(data, '$.address.locality'), json_extract(data, '$.address.pincode'),
			json_extract(data, '$.address.city')
		ORDER BY COUNT(*) DESC, 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("places: %w", err)
	}
	defer rows.Close()
	out := []Place{}
	offered := map[string]bool{}
	for rows.Next() {
		var p Place
		var loc, pin, city sql.NullString
		if err := rows.Scan(&loc, &pin, &city); err != nil {
			return nil, fmt.Errorf("places: %w", err)
		}
		p.Locality, p.Pincode, p.City = loc.String, pin.String, city.String
		if p.Locality != "" && matches(p.Locality, p.Pincode) {
			out = append(out, p)
			offered[strings.ToLower(p.Locality)+"|"+p.Pincode] = true
			if len(out) == limit {
				break
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("places: %w", err)
	}
	if len(out) >= limit {
		return out, nil
	}

	gaz := surveygen.Localities()
	slices.SortFunc(gaz, func(a, b surveygen.Locality) int {
		if byPin && a.Pincode != b.Pincode {
			return strings.Compare(a.Pincode, b.Pincode)
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, l := range gaz {
		if len(out) >= limit {
			break
		}
		if offered[strings.ToLower(l.Name)+"|"+l.Pincode] {
			continue
		}
		ok := matches(l.Name, l.Pincode)
		for _, v := range l.Variants {
			ok = ok || (!byPin && matches(v, l.Pincode))
		}
		if ok {
			out = append(out, Place{Locality: l.Name, Pincode: l.Pincode, City: l.City})
		}
	}
	return out, nil
}
