package surveyor

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/schema"
)

// DBFile is the name of the store's SQLite file inside the data directory.
const DBFile = "surveyor.db"

// Sync statuses of a stored record.
const (
	StatusPending  = "pending"
	StatusSynced   = "synced"
	StatusRejected = "rejected"
)

// Setting keys.
const (
	settingServerURL   = "server_url"
	settingDeviceID    = "device_id"
	settingDeviceName  = "device_name"
	settingArea        = "area"
	settingToken       = "device_token"
	settingAadhaarKey  = "aadhaar_key"
	settingCursor      = "changes_cursor"
	settingLastSync    = "last_sync"
	settingSigningKeys = "signing_keys"
)

// Store is the laptop's local database: households, residents, the outbox
// of versions still to send, and the laptop's registration.
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

// Open opens (creating it if needed) the store in dir. The directory is
// made private to the user: the file holds names, addresses and phones.
func Open(ctx context.Context, dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open store: no data directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	path := filepath.Join(dir, DBFile)
	// Create the file ourselves with mode 0600: SQLite gives its -wal and
	// -shm files the database file's mode, so none is readable by others.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := sqlitedb.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := sqlitedb.Migrate(ctx, db, schema.SurveyorMigrations()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{db: db, path: path, now: time.Now}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path is the SQLite file's path.
func (s *Store) Path() string { return s.path }

// querier is what both *sql.DB and *sql.Tx offer, so helpers run inside or
// outside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getSetting(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

func setSetting(ctx context.Context, q querier, key, value string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}

// Registration is what the laptop keeps from `surveyor init`.
type Registration struct {
	ServerURL  string
	DeviceID   string
	DeviceName string
	Area       string
	Token      string
	AadhaarKey []byte
}

// errNotRegistered is returned by every operation that needs the server's
// key or token before `surveyor init` has run.
func errNotRegistered() error {
	return &schema.Error{Code: schema.ENOTREGISTERD,
		Message: "this laptop is not registered yet: run `surveyor init --server URL --code CODE` with the code from your supervisor"}
}

// SaveRegistration stores the server's answer to a registration. A laptop
// that already holds Aadhaar hashes made with another deployment's key
// refuses the new key, since those hashes would no longer match anything.
func (s *Store) SaveRegistration(ctx context.Context, serverURL string, reg schema.Registered) error {
	key, err := base64.StdEncoding.DecodeString(reg.AadhaarKey)
	if err != nil || len(key) < 16 {
		return &schema.Error{Code: schema.EMALFORMED, Field: "aadhaar_key", Message: "the server sent an unusable Aadhaar key (want base64 of at least 16 bytes)"}
	}
	if reg.DeviceID == "" || reg.Token == "" {
		return &schema.Error{Code: schema.EMALFORMED, Message: "the server's registration answer lacks device_id or token"}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save registration: %w", err)
	}
	defer tx.Rollback()
	oldKey, err := getSetting(ctx, tx, settingAadhaarKey)
	if err != nil {
		return err
	}
	if oldKey != "" && oldKey != reg.AadhaarKey {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM households`).Scan(&n); err != nil {
			return fmt.Errorf("save registration: %w", err)
		}
		if n > 0 {
			return &schema.Error{Code: schema.ECONFLICT,
				Message: fmt.Sprintf("this laptop holds %d households hashed with another deployment's Aadhaar key; register it with the same server", n)}
		}
	}
	oldDevice, err := getSetting(ctx, tx, settingDeviceID)
	if err != nil {
		return err
	}
	settings := [][2]string{
		{settingServerURL, serverURL},
		{settingDeviceID, reg.DeviceID},
		{settingDeviceName, reg.Name},
		{settingArea, reg.Area},
		{settingToken, reg.Token},
		{settingAadhaarKey, reg.AadhaarKey},
	}
	if oldDevice != reg.DeviceID {
		// Changes are per device: a new identity starts reading from the start.
		settings = append(settings, [2]string{settingCursor, "0"})
	}
	for _, kv := range settings {
		if err := setSetting(ctx, tx, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save registration: %w", err)
	}
	return nil
}

// Registration returns the laptop's registration, or an error with code
// not_registered before `surveyor init`.
func (s *Store) Registration(ctx context.Context) (Registration, error) {
	return registration(ctx, s.db)
}

func registration(ctx context.Context, q querier) (Registration, error) {
	var r Registration
	var key string
	for _, kv := range []struct {
		key string
		dst *string
	}{
		{settingServerURL, &r.ServerURL},
		{settingDeviceID, &r.DeviceID},
		{settingDeviceName, &r.DeviceName},
		{settingArea, &r.Area},
		{settingToken, &r.Token},
		{settingAadhaarKey, &key},
	} {
		v, err := getSetting(ctx, q, kv.key)
		if err != nil {
			return Registration{}, err
		}
		*kv.dst = v
	}
	if key == "" || r.DeviceID == "" {
		return Registration{}, errNotRegistered()
	}
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return Registration{}, fmt.Errorf("read registration: stored Aadhaar key: %w", err)
	}
	r.AadhaarKey = k
	return r, nil
}

// Status is the summary `surveyor status` prints. Pending, synced and
// rejected count records (households and residents, removed members
// included), since each travels and is acknowledged on its own.
type Status struct {
	Households int     `json:"households"`
	Residents  int     `json:"residents"`
	Pending    int     `json:"pending"`
	Synced     int     `json:"synced"`
	Rejected   int     `json:"rejected"`
	LastSync   *string `json:"last_sync"`
	Server     string  `json:"server,omitempty"`
	DeviceID   string  `json:"device_id,omitempty"`
}

// Status counts what the store holds and how much of it the server has.
func (s *Store) Status(ctx context.Context) (Status, error) {
	var st Status
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM households),
		(SELECT COUNT(*) FROM residents WHERE deleted = 0)`).Scan(&st.Households, &st.Residents)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT sync_status, COUNT(*) FROM (
		SELECT sync_status FROM households UNION ALL SELECT sync_status FROM residents)
		GROUP BY sync_status`)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return Status{}, fmt.Errorf("status: %w", err)
		}
		switch status {
		case StatusPending:
			st.Pending = n
		case StatusSynced:
			st.Synced = n
		case StatusRejected:
			st.Rejected = n
		}
	}
	if err := rows.Err(); err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	last, err := getSetting(ctx, s.db, settingLastSync)
	if err != nil {
		return Status{}, err
	}
	if last != "" {
		st.LastSync = &last
	}
	if st.Server, err = getSetting(ctx, s.db, settingServerURL); err != nil {
		return Status{}, err
	}
	if st.DeviceID, err = getSetting(ctx, s.db, settingDeviceID); err != nil {
		return Status{}, err
	}
	return st, nil
}

// timestamp is how the store writes times: UTC, RFC 3339, sortable.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
