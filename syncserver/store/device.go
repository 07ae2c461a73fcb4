package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/doorstep-health/doorstep/schema"
)

// CodeValidity is how long a one-time registration code works.
const CodeValidity = 7 * 24 * time.Hour

// Device statuses as ListDevices reports them.
const (
	DeviceWaiting    = "waiting"    // added, code not used yet
	DeviceExpired    = "expired"    // code not used in time
	DeviceRegistered = "registered" // a laptop holds its token
	DeviceRevoked    = "revoked"
)

// Device is one survey laptop as the server knows it.
type Device struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Area          string     `json:"area,omitempty"`
	Status        string     `json:"status"`
	Hostname      string     `json:"hostname,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	CodeExpiresAt time.Time  `json:"code_expires_at"`
	RegisteredAt  *time.Time `json:"registered_at,omitempty"`
	LastSyncAt    *time.Time `json:"last_sync_at,omitempty"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code read
// aloud or copied by hand survives; normalizeCode maps the look-alikes back.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newCode returns a one-time code of 12 symbols (60 random bits) written in
// three groups of four, like K7QP-3MXD-9RTA.
func newCode() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new code: %w", err)
	}
	v := binary.BigEndian.Uint64(b[:])
	var sb strings.Builder
	for i := range 12 {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(crockford[v&31])
		v >>= 5
	}
	return sb.String(), nil
}

// normalizeCode turns what a person typed into the canonical symbols:
// case, dashes and spaces do not matter, and O, I and L read as 0, 1, 1.
func normalizeCode(code string) string {
	var sb strings.Builder
	for _, c := range strings.ToUpper(code) {
		switch {
		case c == 'O':
			sb.WriteByte('0')
		case c == 'I' || c == 'L':
			sb.WriteByte('1')
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			sb.WriteRune(c)
		}
	}
	return sb.String()
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// AddDevice records a new laptop and returns its id and a one-time code,
// valid for CodeValidity, that `surveyor init` exchanges for a token. Only
// the code's hash is stored: the code is shown once.
func (s *Store) AddDevice(ctx context.Context, name, area string) (deviceID, code string, err error) {
	name = strings.TrimSpace(name)
	area = strings.ToUpper(strings.TrimSpace(area))
	switch {
	case name == "":
		return "", "", &schema.Error{Code: schema.EINVALID, Field: "name", Rule: "required", Message: "is required"}
	case utf8.RuneCountInString(name) > schema.MaxNameLen:
		return "", "", &schema.Error{Code: schema.EINVALID, Field: "name", Rule: "max_length", Message: fmt.Sprintf("must be at most %d characters", schema.MaxNameLen)}
	}
	if code, err = newCode(); err != nil {
		return "", "", fmt.Errorf("add device: %w", err)
	}
	deviceID = schema.NewID()
	now := s.now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO devices (id, name, area, code_hash, code_expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		deviceID, name, area, hashSecret(normalizeCode(code)), formatTime(now.Add(CodeValidity)), formatTime(now))
	if err != nil {
		return "", "", fmt.Errorf("add device %q: %w", name, err)
	}
	return deviceID, code, nil
}

// RegisterDevice exchanges a one-time code for the device's bearer token.
// The code works once: in the same transaction it is marked used and the
// token created, so two laptops racing with one code get one token.
func (s *Store) RegisterDevice(ctx context.Context, code, hostname string) (schema.Registered, error) {
	norm := normalizeCode(code)
	if norm == "" {
		return schema.Registered{}, &schema.Error{Code: schema.EINVALID, Field: "code", Rule: "required", Message: "is required"}
	}
	// The hostname only helps an administrator tell laptops apart, so an
	// odd one is trimmed rather than refused.
	if len(hostname) > schema.MaxNameLen {
		hostname = hostname[:schema.MaxNameLen]
	}
	hostname = strings.Map(func(r rune) rune {
		if schema.IsControl(r) || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(hostname, ""))
	tx, err := s.beginTx(ctx)
	if err != nil {
		return schema.Registered{}, fmt.Errorf("register device: %w", err)
	}
	defer tx.Rollback()

	var (
		reg       schema.Registered
		expiresAt string
		used      bool
		revokedAt sql.NullString
	)
	err = tx.QueryRowContext(ctx, `SELECT id, name, area, code_expires_at, code_used, revoked_at
		FROM devices WHERE code_hash = ?`, hashSecret(norm)).
		Scan(&reg.DeviceID, &reg.Name, &reg.Area, &expiresAt, &used, &revokedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows), err == nil && (used || revokedAt.Valid):
		return schema.Registered{}, schema.Errorf(schema.EUNAUTHORIZED, "unknown or already used registration code")
	case err != nil:
		return schema.Registered{}, fmt.Errorf("register device: %w", err)
	}
	now := s.now()
	if formatTime(now) >= expiresAt {
		return schema.Registered{}, schema.Errorf(schema.EUNAUTHORIZED, "registration code expired at %s; ask for a new one (syncserver device add)", expiresAt)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET code_used = 1, registered_at = ?, hostname = ? WHERE id = ?`,
		formatTime(now), hostname, reg.DeviceID); err != nil {
		return schema.Registered{}, fmt.Errorf("register device %s: %w", reg.DeviceID, err)
	}
	if reg.Token, _, err = insertToken(ctx, tx, schema.RoleDevice, "device:"+reg.Name, reg.DeviceID, now); err != nil {
		return schema.Registered{}, fmt.Errorf("register device %s: %w", reg.DeviceID, err)
	}
	if err := tx.Commit(); err != nil {
		return schema.Registered{}, fmt.Errorf("register device %s: %w", reg.DeviceID, err)
	}
	reg.AadhaarKey = base64.StdEncoding.EncodeToString(s.aadhaarKey)
	return reg, nil
}

// RevokeDevice stops a laptop from syncing: its tokens stop working and an
// import of its batches is refused. Revoking twice is not an error.
func (s *Store) RevokeDevice(ctx context.Context, id string) error {
	defer s.auth.forget()
	tx, err := s.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("revoke device %s: %w", id, err)
	}
	defer tx.Rollback()
	now := formatTime(s.now())
	res, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, now, id)
	if err != nil {
		return fmt.Errorf("revoke device %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke device %s: %w", id, err)
	} else if n == 0 {
		return schema.Errorf(schema.ENOTFOUND, "no device %s", id)
	}
	// Authenticate checks the device too; revoking its tokens as well keeps
	// `token list` truthful.
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL`, now, id); err != nil {
		return fmt.Errorf("revoke device %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revoke device %s: %w", id, err)
	}
	return nil
}

// ListDevices returns every device, oldest first.
func (s *Store) ListDevices(ctx context.Context) ([]Device, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, name, area, hostname, created_at, code_expires_at,
		registered_at, last_sync_at, revoked_at FROM devices ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	now := s.now()
	devices := []Device{}
	for rows.Next() {
		var (
			d                           Device
			created, expires            string
			registered, synced, revoked sql.NullString
		)
		if err := rows.Scan(&d.ID, &d.Name, &d.Area, &d.Hostname, &created, &expires, &registered, &synced, &revoked); err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		if t := parseTime(sql.NullString{String: created, Valid: true}); t != nil {
			d.CreatedAt = *t
		}
		if t := parseTime(sql.NullString{String: expires, Valid: true}); t != nil {
			d.CodeExpiresAt = *t
		}
		d.RegisteredAt, d.LastSyncAt, d.RevokedAt = parseTime(registered), parseTime(synced), parseTime(revoked)
		switch {
		case d.RevokedAt != nil:
			d.Status = DeviceRevoked
		case d.RegisteredAt != nil:
			d.Status = DeviceRegistered
		case !now.Before(d.CodeExpiresAt):
			d.Status = DeviceExpired
		default:
			d.Status = DeviceWaiting
		}
		devices = append(devices, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devices, nil
}
