package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/doorstep-health/doorstep/schema"
)

// tokenPrefix marks our tokens so secret scanners and people recognise one
// pasted where it should not be.
const tokenPrefix = "dst_"

// tokenBytes of randomness: 256 bits, far beyond guessing.
const tokenBytes = 32

// Token describes an API token; the token itself is never stored.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	DeviceID  string     `json:"device_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Principal is who a request's token speaks for.
type Principal struct {
	TokenID  string
	Name     string
	Role     string
	DeviceID string // set for device tokens only
	Centre   string // a printer token limited to one printing centre; "" for all
}

// TokenOption qualifies a token made by CreateToken.
type TokenOption func(*tokenSpec)

type tokenSpec struct{ centre string }

// ForCentre limits a printer token to the print jobs and cards of one
// printing centre.
func ForCentre(centre string) TokenOption {
	return func(t *tokenSpec) { t.centre = strings.ToUpper(strings.TrimSpace(centre)) }
}

// CreateToken makes a token for a person or system in role and returns it;
// only its SHA-256 is stored, so it is shown once. Device tokens come only
// from RegisterDevice, which ties them to a device.
func (s *Store) CreateToken(ctx context.Context, role, name string, opts ...TokenOption) (string, error) {
	name = strings.TrimSpace(name)
	var spec tokenSpec
	for _, o := range opts {
		o(&spec)
	}
	switch {
	case spec.centre != "" && role != schema.RolePrinter:
		return "", &schema.Error{Code: schema.EINVALID, Field: "centre", Rule: "printer_only",
			Message: "only a printer token is limited to a printing centre"}
	case !slices.Contains(schema.Roles, role):
		return "", &schema.Error{Code: schema.EINVALID, Field: "role", Rule: "one_of",
			Message: fmt.Sprintf("must be one of %s, not %q", strings.Join(schema.Roles, ", "), role)}
	case role == schema.RoleDevice:
		return "", &schema.Error{Code: schema.EINVALID, Field: "role", Rule: "device_registration",
			Message: "device tokens come from registering a laptop: syncserver device add, then surveyor init"}
	case name == "":
		return "", &schema.Error{Code: schema.EINVALID, Field: "name", Rule: "required", Message: "is required"}
	case utf8.RuneCountInString(name) > schema.MaxNameLen:
		return "", &schema.Error{Code: schema.EINVALID, Field: "name", Rule: "max_length",
			Message: fmt.Sprintf("must be at most %d characters", schema.MaxNameLen)}
	}
	tx, err := s.beginTx(ctx)
	if err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens
		WHERE name = ? AND revoked_at IS NULL AND device_id IS NULL`, name).Scan(&n); err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	if n > 0 {
		return "", &schema.Error{Code: schema.ECONFLICT, Field: "name", Rule: "unique",
			Message: fmt.Sprintf("a live token is already named %q; revoke it or choose another name", name)}
	}
	token, id, err := insertToken(ctx, tx, role, name, "", s.now())
	if err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET centre = ? WHERE id = ?`, spec.centre, id); err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	return token, nil
}

func insertToken(ctx context.Context, tx *sql.Tx, role, name, deviceID string, now time.Time) (token, id string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	id = schema.NewID()
	dev := sql.NullString{String: deviceID, Valid: deviceID != ""}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, name, role, hash, device_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, name, role, hashSecret(token), dev, formatTime(now)); err != nil {
		return "", "", err
	}
	return token, id, nil
}

// RevokeToken revokes the token with id idOrName, or else the live token
// named idOrName. Revoking a revoked token by id is not an error.
func (s *Store) RevokeToken(ctx context.Context, idOrName string) error {
	defer s.auth.forget()
	now := formatTime(s.now())
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, now, idOrName)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", idOrName, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke token %s: %w", idOrName, err)
	} else if n > 0 {
		return nil
	}
	// Device tokens may share a name (two laptops both called "team 4"), so
	// revoke by name only when it is unambiguous.
	tx, err := s.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", idOrName, err)
	}
	defer tx.Rollback()
	res, err = tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`, now, idOrName)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", idOrName, err)
	}
	switch n, err := res.RowsAffected(); {
	case err != nil:
		return fmt.Errorf("revoke token %s: %w", idOrName, err)
	case n == 0:
		return schema.Errorf(schema.ENOTFOUND, "no live token with id or name %q", idOrName)
	case n > 1:
		return schema.Errorf(schema.ECONFLICT, "%d live tokens are named %q; revoke one by id (syncserver token list)", n, idOrName)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revoke token %s: %w", idOrName, err)
	}
	return nil
}

// ListTokens describes every token, oldest first, without the tokens.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, name, role, COALESCE(device_id, ''), created_at, revoked_at
		FROM tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	tokens := []Token{}
	for rows.Next() {
		var (
			t       Token
			created string
			revoked sql.NullString
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.DeviceID, &created, &revoked); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if c := parseTime(sql.NullString{String: created, Valid: true}); c != nil {
			t.CreatedAt = *c
		}
		t.RevokedAt = parseTime(revoked)
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return tokens, nil
}

// authenticateQuery runs on every API request, so it is prepared once on
// the read pool (Open) rather than parsed each time.
const authenticateQuery = `SELECT t.id, t.name, t.role, COALESCE(t.device_id, ''), t.centre,
		t.revoked_at IS NOT NULL, d.revoked_at IS NOT NULL
	FROM tokens t LEFT JOIN devices d ON d.id = t.device_id
	WHERE t.hash = ?`

// Authenticate returns who token speaks for. An unknown or revoked token,
// or the token of a revoked device, is EUNAUTHORIZED.
func (s *Store) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return Principal{}, schema.Errorf(schema.EUNAUTHORIZED, "unknown token")
	}
	hash := hashSecret(token)
	// The cache runs on the wall clock, not the store's (tests move that).
	if p, ok := s.auth.get(hash, time.Now()); ok {
		return p, nil
	}
	var (
		p                           Principal
		tokenRevoked, deviceRevoked bool
	)
	err := s.authenticate.QueryRowContext(ctx, hash).
		Scan(&p.TokenID, &p.Name, &p.Role, &p.DeviceID, &p.Centre, &tokenRevoked, &deviceRevoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Principal{}, schema.Errorf(schema.EUNAUTHORIZED, "unknown token")
	case err != nil:
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	case tokenRevoked:
		return Principal{}, schema.Errorf(schema.EUNAUTHORIZED, "token %s is revoked", p.Name)
	case deviceRevoked:
		return Principal{}, schema.Errorf(schema.EUNAUTHORIZED, "device %s is revoked", p.DeviceID)
	}
	s.auth.put(hash, p, time.Now())
	return p, nil
}

// authCacheTTL is how long a token found live is believed live without
// asking the database again. Every API request authenticates, and a
// hospital desk scans in bursts; revoking in this process forgets the
// cache at once, revoking from another (the command line) takes effect
// within this time.
const authCacheTTL = time.Second

// authCache remembers live tokens, by hash, for authCacheTTL. Unknown and
// revoked tokens are never cached: a new token works at once.
type authCache struct {
	mu sync.Mutex
	m  map[string]authEntry
}

type authEntry struct {
	p  Principal
	at time.Time
}

func (c *authCache) get(hash string, now time.Time) (Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.Sub(e.at) >= authCacheTTL || now.Before(e.at) {
		return Principal{}, false
	}
	return e.p, true
}

func (c *authCache) put(hash string, p Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 10_000 {
		c.m = make(map[string]authEntry)
	}
	c.m[hash] = authEntry{p: p, at: now}
}

// forget drops every cached token, after a revocation.
func (c *authCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
