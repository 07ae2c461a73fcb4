package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// aadhaarKeyFile holds the deployment's HMAC key for Aadhaar numbers
// (schema.AadhaarHash). It lives in a file, never in the database, so a
// copy of the database handed to an analyst cannot reverse the hashes.
const aadhaarKeyFile = "aadhaar-hmac.key"

const keyLen = 32

// loadOrCreateKey reads the key in dir/name, creating dir (0700) and a new
// random key (0600) on first use. The new key is written to a temporary
// file and linked into place, so two processes opening the same fresh
// deployment at once agree on one key and a crash never leaves half a key.
func loadOrCreateKey(dir, name string) ([]byte, error) {
	path := filepath.Join(dir, name)
	key, err := readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create keys dir: %w", err)
	}
	key = make([]byte, keyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path) // another process won the race: use its key
		}
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	return key, nil
}

func readKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key %s is readable by other users (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(key) != keyLen {
		return nil, fmt.Errorf("key %s holds %d bytes, want %d", path, len(key), keyLen)
	}
	return key, nil
}
