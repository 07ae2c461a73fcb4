package cards

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/veraison/go-cose"

	"github.com/doorstep-health/doorstep/schema"
)

// Key statuses, as published in the key document.
const (
	KeyActive  = "active"  // verifies the cards it signed
	KeyRetired = "retired" // verifies nothing any more; its cards fail with retired_key
)

// kidLen is the length in bytes of a key id: the first 4 bytes of the
// SHA-256 of the raw public key. A key id only tells apart the few keys one
// deployment ever has (Rotate never makes a second key with the same id,
// and the signature is checked anyway), so 4 bytes do; each byte more
// costs 1.5 characters of every QR, and 4 bytes fewer than the EU DCC's 8
// bring a card with a 40-character name from QR version 13 to 12.
const kidLen = 4

// KeyID returns the key id of pub as written in the key document and on the
// command line: base64url without padding of the first 4 bytes of
// SHA-256(pub), six characters. In the QR the same 4 bytes sit raw in the
// protected header.
func KeyID(pub ed25519.PublicKey) string {
	return base64.RawURLEncoding.EncodeToString(rawKeyID(pub))
}

func rawKeyID(pub ed25519.PublicKey) []byte {
	h := sha256.Sum256(pub)
	return h[:kidLen]
}

// SigningKey is an Ed25519 private key with its key id. Its fields are
// unexported and it formats as "SigningKey(kid)" with %v, %+v and %#v, so a
// stray log line never prints the private key.
type SigningKey struct {
	kid    []byte
	priv   ed25519.PrivateKey
	signer cose.Signer
}

// NewSigningKey wraps an Ed25519 private key.
func NewSigningKey(priv ed25519.PrivateKey) (*SigningKey, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("signing key: %d bytes, want an Ed25519 private key of %d", len(priv), ed25519.PrivateKeySize)
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, priv)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return &SigningKey{kid: rawKeyID(priv.Public().(ed25519.PublicKey)), priv: priv, signer: signer}, nil
}

// GenerateSigningKey makes a new Ed25519 key from r (crypto/rand.Reader
// unless a test needs a fixed key).
func GenerateSigningKey(r io.Reader) (*SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return NewSigningKey(priv)
}

// ID returns the key id (base64url).
func (k *SigningKey) ID() string { return base64.RawURLEncoding.EncodeToString(k.kid) }

// Public returns the public half.
func (k *SigningKey) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// String and GoString keep the private key out of formatted output.
func (k *SigningKey) String() string   { return "SigningKey(" + k.ID() + ")" }
func (k *SigningKey) GoString() string { return k.String() }

// KeyInfo describes one key as a verifier sees it.
type KeyInfo struct {
	ID      string     `json:"kid"`
	Status  string     `json:"status"` // KeyActive or KeyRetired
	Created time.Time  `json:"created"`
	Retired *time.Time `json:"retired,omitempty"`
}

// retiredAt reports whether the key no longer verifies at now.
func (k KeyInfo) retiredAt(now time.Time) bool {
	return k.Status == KeyRetired || (k.Retired != nil && !now.Before(*k.Retired))
}

// PublicKeyDocument is the JSON served at /.well-known/health-card-keys: a
// JWK set (RFC 7517, OKP keys of RFC 8037) with two members of ours per key,
// status and the created/retired times. Retired keys stay listed so that a
// verifier can tell "retired" from "never ours".
type PublicKeyDocument struct {
	Keys []PublicJWK `json:"keys"`
}

// PublicJWK is one published key.
type PublicJWK struct {
	KID     string     `json:"kid"`
	Kty     string     `json:"kty"` // "OKP"
	Crv     string     `json:"crv"` // "Ed25519"
	Alg     string     `json:"alg"` // "EdDSA"
	Use     string     `json:"use"` // "sig"
	X       string     `json:"x"`   // base64url of the 32-byte public key
	Status  string     `json:"status"`
	Created time.Time  `json:"created"`
	Retired *time.Time `json:"retired,omitempty"`
}

func newPublicJWK(pub ed25519.PublicKey, info KeyInfo) PublicJWK {
	return PublicJWK{
		KID: info.ID, Kty: "OKP", Crv: "Ed25519", Alg: "EdDSA", Use: "sig",
		X:      base64.RawURLEncoding.EncodeToString(pub),
		Status: info.Status, Created: info.Created, Retired: info.Retired,
	}
}

// KeySet is what an offline verifier holds: the published public keys by
// key id, with their status. Build it with ParseKeySet from the published
// document, or NewKeySet.
type KeySet struct {
	keys map[string]*verifyKey // by raw kid
}

type verifyKey struct {
	info     KeyInfo
	verifier cose.Verifier
}

// ParseKeySet reads the JSON document served at /.well-known/health-card-keys.
func ParseKeySet(doc []byte) (KeySet, error) {
	var d PublicKeyDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return KeySet{}, fmt.Errorf("health card keys: %w", err)
	}
	return NewKeySet(d)
}

// NewKeySet checks every key of d (an Ed25519 OKP key whose kid is derived
// from x as KeyID does, a known status) and indexes them by key id.
func NewKeySet(d PublicKeyDocument) (KeySet, error) {
	s := KeySet{keys: make(map[string]*verifyKey, len(d.Keys))}
	for i, k := range d.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			return KeySet{}, fmt.Errorf("health card keys: keys[%d] (%s): kty %q crv %q, want OKP Ed25519", i, k.KID, k.Kty, k.Crv)
		}
		if k.Alg != "" && k.Alg != "EdDSA" {
			return KeySet{}, fmt.Errorf("health card keys: keys[%d] (%s): alg %q, want EdDSA", i, k.KID, k.Alg)
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return KeySet{}, fmt.Errorf("health card keys: keys[%d] (%s): x is not a base64url Ed25519 public key", i, k.KID)
		}
		pub := ed25519.PublicKey(x)
		if KeyID(pub) != k.KID {
			return KeySet{}, fmt.Errorf("health card keys: keys[%d]: kid %q does not match its key (want %q)", i, k.KID, KeyID(pub))
		}
		if k.Status != KeyActive && k.Status != KeyRetired {
			return KeySet{}, fmt.Errorf("health card keys: keys[%d] (%s): status %q, want %s or %s", i, k.KID, k.Status, KeyActive, KeyRetired)
		}
		v, err := cose.NewVerifier(cose.AlgorithmEdDSA, pub)
		if err != nil {
			return KeySet{}, fmt.Errorf("health card keys: keys[%d] (%s): %w", i, k.KID, err)
		}
		raw := string(rawKeyID(pub))
		if _, dup := s.keys[raw]; dup {
			return KeySet{}, fmt.Errorf("health card keys: key %s listed twice", k.KID)
		}
		s.keys[raw] = &verifyKey{
			info:     KeyInfo{ID: k.KID, Status: k.Status, Created: k.Created, Retired: k.Retired},
			verifier: v,
		}
	}
	return s, nil
}

// Keys lists the set's keys, oldest first.
func (s KeySet) Keys() []KeyInfo {
	out := make([]KeyInfo, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k.info)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// KeyRing is the server's set of signing keys in a directory of its own:
//
//	DIR/            mode 0700
//	DIR/keys.json   index: every key's id, public key, created and retired
//	                times, and which key signs now (mode 0600)
//	DIR/KID.pem     the private key, PKCS#8 PEM (mode 0600); deleted when
//	                the key is retired
//
// The private keys never enter the database, so a database dump or backup
// carries no signing key. A private key file that group or others may read,
// or a directory they may write, is refused rather than used.
type KeyRing struct {
	dir string

	mu     sync.Mutex
	index  keyIndex
	loaded map[string]*SigningKey // private keys read so far, by kid
}

type keyIndex struct {
	Active string       `json:"active,omitempty"`
	Keys   []indexedKey `json:"keys"`
}

type indexedKey struct {
	KID     string     `json:"kid"`
	X       string     `json:"x"`
	Created time.Time  `json:"created"`
	Retired *time.Time `json:"retired,omitempty"`
}

func (k indexedKey) info() KeyInfo {
	status := KeyActive
	if k.Retired != nil {
		status = KeyRetired
	}
	return KeyInfo{ID: k.KID, Status: status, Created: k.Created, Retired: k.Retired}
}

func (k indexedKey) public() ed25519.PublicKey {
	x, _ := base64.RawURLEncoding.DecodeString(k.X) // checked on load
	return x
}

const keyIndexFile = "keys.json"

// OpenKeyRing opens the key directory dir, creating it (mode 0700) when it
// does not exist. A new directory holds no key: call Rotate to make the
// first one.
func OpenKeyRing(dir string) (*KeyRing, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("key directory %s is not a directory", dir)
	}
	if checkModes() && st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("key directory %s may be written by group or others (mode %04o); run chmod 700 %s", dir, st.Mode().Perm(), dir)
	}
	r := &KeyRing{dir: dir, loaded: map[string]*SigningKey{}}
	b, err := os.ReadFile(filepath.Join(dir, keyIndexFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("key index: %w", err)
	}
	if err := json.Unmarshal(b, &r.index); err != nil {
		return nil, fmt.Errorf("key index %s: %w", filepath.Join(dir, keyIndexFile), err)
	}
	for _, k := range r.index.Keys {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize || KeyID(x) != k.KID {
			return nil, fmt.Errorf("key index %s: key %q: public key missing or does not match its id", filepath.Join(dir, keyIndexFile), k.KID)
		}
	}
	if r.index.Active != "" {
		if k := r.find(r.index.Active); k == nil || k.Retired != nil {
			return nil, fmt.Errorf("key index %s: active key %q is not a usable key", filepath.Join(dir, keyIndexFile), r.index.Active)
		}
	}
	return r, nil
}

// checkModes reports whether Unix permission bits mean anything here.
func checkModes() bool { return runtime.GOOS != "windows" && runtime.GOOS != "plan9" }

func (r *KeyRing) find(kid string) *indexedKey {
	for i := range r.index.Keys {
		if r.index.Keys[i].KID == kid {
			return &r.index.Keys[i]
		}
	}
	return nil
}

// Dir returns the key directory.
func (r *KeyRing) Dir() string { return r.dir }

// Rotate makes a new Ed25519 key and makes it the one that signs from now
// on. Earlier keys keep verifying the cards they signed until retired.
func (r *KeyRing) Rotate() (KeyInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var k *SigningKey
	for k == nil || r.find(k.ID()) != nil { // a repeated key id: draw again
		var err error
		if k, err = GenerateSigningKey(rand.Reader); err != nil {
			return KeyInfo{}, err
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("signing key: %w", err)
	}
	kid := k.ID()
	// The private key reaches its final name only once it is complete and
	// on disk, and the index names it only after that, so a crash leaves at
	// worst an unused key file, never an index entry without its key.
	if err := writeFileAtomic(r.dir, kid+".pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return KeyInfo{}, fmt.Errorf("writing signing key: %w", err)
	}
	next := r.index
	next.Keys = append(append([]indexedKey(nil), r.index.Keys...), indexedKey{
		KID:     kid,
		X:       base64.RawURLEncoding.EncodeToString(k.Public()),
		Created: time.Now().UTC().Truncate(time.Second),
	})
	next.Active = kid
	if err := r.saveIndex(next); err != nil {
		return KeyInfo{}, err
	}
	r.index = next
	r.loaded[kid] = k
	return next.Keys[len(next.Keys)-1].info(), nil
}

// Retire stops the key kid from verifying anything: cards it signed then
// fail with retired_key, and its private key file is deleted. Retiring is
// for good. The signing key cannot be retired; rotate first. Retiring a
// retired key changes nothing.
func (r *KeyRing) Retire(kid string) (KeyInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := -1
	for j, k := range r.index.Keys {
		if k.KID == kid {
			i = j
		}
	}
	switch {
	case i < 0:
		return KeyInfo{}, &schema.Error{Code: schema.ENOTFOUND, Field: "kid", Message: fmt.Sprintf("no signing key %q", kid)}
	case r.index.Keys[i].Retired != nil:
		return r.index.Keys[i].info(), nil
	case r.index.Active == kid:
		return KeyInfo{}, &schema.Error{Code: schema.ECONFLICT, Field: "kid", Message: fmt.Sprintf("key %s signs new cards; run keys rotate before retiring it", kid)}
	}
	next := r.index
	next.Keys = append([]indexedKey(nil), r.index.Keys...)
	at := time.Now().UTC().Truncate(time.Second)
	next.Keys[i].Retired = &at
	if err := r.saveIndex(next); err != nil {
		return KeyInfo{}, err
	}
	r.index = next
	delete(r.loaded, kid)
	if err := os.Remove(filepath.Join(r.dir, kid+".pem")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return next.Keys[i].info(), fmt.Errorf("key %s is retired but its private key file could not be deleted: %w", kid, err)
	}
	return next.Keys[i].info(), nil
}

// Active returns the key that signs new cards, reading its private key file
// the first time. It is an error (not_found) when no key exists yet.
func (r *KeyRing) Active() (*SigningKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kid := r.index.Active
	if kid == "" {
		return nil, &schema.Error{Code: schema.ENOTFOUND, Message: "no signing key yet; run syncserver keys rotate"}
	}
	if k := r.loaded[kid]; k != nil {
		return k, nil
	}
	k, err := loadPrivateKey(filepath.Join(r.dir, kid+".pem"))
	if err != nil {
		return nil, err
	}
	if k.ID() != kid {
		return nil, fmt.Errorf("signing key %s: file holds key %s", filepath.Join(r.dir, kid+".pem"), k.ID())
	}
	r.loaded[kid] = k
	return k, nil
}

// Keys lists every key, oldest first.
func (r *KeyRing) Keys() []KeyInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]KeyInfo, len(r.index.Keys))
	for i, k := range r.index.Keys {
		out[i] = k.info()
	}
	return out
}

// PublicKeys returns the document to serve at /.well-known/health-card-keys.
func (r *KeyRing) PublicKeys() PublicKeyDocument {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := PublicKeyDocument{Keys: make([]PublicJWK, 0, len(r.index.Keys))}
	for _, k := range r.index.Keys {
		d.Keys = append(d.Keys, newPublicJWK(k.public(), k.info()))
	}
	return d
}

// KeySet returns the verifying keys of the ring, the same set a hospital
// builds from the published document.
func (r *KeyRing) KeySet() (KeySet, error) {
	return NewKeySet(r.PublicKeys())
}

func loadPrivateKey(path string) (*SigningKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if checkModes() && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s may be read by group or others (mode %04o); run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("signing key %s: not a single PKCS#8 PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T, want an Ed25519 key", path, key)
	}
	return NewSigningKey(priv)
}

func (r *KeyRing) saveIndex(idx keyIndex) error {
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("key index: %w", err)
	}
	if err := writeFileAtomic(r.dir, keyIndexFile, append(b, '\n')); err != nil {
		return fmt.Errorf("writing key index: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to dir/name with mode 0600 through a
// temporary file, fsync and rename, then syncs the directory, so the file is
// either the old one or the complete new one after a crash.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// os.CreateTemp makes the file with mode 0600.
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: not every OS can sync a directory
		d.Close()
	}
	return nil
}
