package cards

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

func TestKeyID(t *testing.T) {
	k := testKey(t)
	id := k.ID()
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) != kidLen || len(id) != 6 {
		t.Fatalf("key id %q: %d bytes, %v", id, len(raw), err)
	}
	if KeyID(k.Public()) != id {
		t.Error("KeyID and SigningKey.ID disagree")
	}
	if seededKey(t, "another").ID() == id {
		t.Error("two keys share an id")
	}
}

func TestSigningKeyNeverPrintsPrivateKey(t *testing.T) {
	k := testKey(t)
	secret := fmt.Sprintf("%x", []byte(k.priv.Seed()))
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, k)
		if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprint([]byte(k.priv))) || !strings.Contains(out, k.ID()) {
			t.Errorf("fmt %s of a key gave %q", format, out)
		}
	}
	if _, err := NewSigningKey(ed25519.PrivateKey{1, 2, 3}); err == nil {
		t.Error("NewSigningKey accepted 3 bytes")
	}
}

func TestKeyRingLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	ring, err := OpenKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode %o, want 700", st.Mode().Perm())
	}
	if _, err := ring.Active(); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Fatalf("Active on an empty ring: %v", err)
	}

	first, err := ring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	k1, err := ring.Active()
	if err != nil || k1.ID() != first.ID || first.Status != KeyActive {
		t.Fatalf("Active = %v, %v after rotating to %+v", k1, err, first)
	}
	pemPath := filepath.Join(dir, first.ID+".pem")
	if st, err := os.Stat(pemPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, mode %v", err, st.Mode().Perm())
	}
	idx, _ := os.ReadFile(filepath.Join(dir, "keys.json"))
	if strings.Contains(string(idx), "PRIVATE") || strings.Contains(string(idx), base64.RawURLEncoding.EncodeToString(k1.priv.Seed())) {
		t.Fatalf("the index holds private key material:\n%s", idx)
	}
	card := sampleCards(t, k1, 1)[0]

	second, err := ring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := ring.Active()
	if k2.ID() != second.ID || second.ID == first.ID {
		t.Fatalf("after rotation the active key is %s (first %s, second %s)", k2.ID(), first.ID, second.ID)
	}

	// A hospital holds only the published document.
	docJSON, err := json.Marshal(ring.PublicKeys())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseKeySet(docJSON)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(keys.Keys()); got != 2 {
		t.Fatalf("published %d keys, want 2:\n%s", got, docJSON)
	}
	// The old key still verifies its card, the new key signs new ones.
	if _, info, err := Verify(card.QR, keys, time.Now()); err != nil || info.ID != first.ID {
		t.Fatalf("card signed before rotation: %v (key %s)", err, info.ID)
	}
	fresh := sampleCards(t, k2, 1)[0]
	if _, info, err := Verify(fresh.QR, keys, time.Now()); err != nil || info.ID != second.ID {
		t.Fatalf("card signed after rotation: %v (key %s)", err, info.ID)
	}

	// The signing key cannot be retired; an unknown one is not found.
	if _, err := ring.Retire(second.ID); schema.ErrorCode(err) != schema.ECONFLICT {
		t.Errorf("retiring the active key: %v", err)
	}
	if _, err := ring.Retire("nope"); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("retiring an unknown key: %v", err)
	}
	retired, err := ring.Retire(first.ID)
	if err != nil || retired.Status != KeyRetired || retired.Retired == nil {
		t.Fatalf("Retire = %+v, %v", retired, err)
	}
	if _, err := os.Stat(pemPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("retired key's private file still there: %v", err)
	}
	if again, err := ring.Retire(first.ID); err != nil || !again.Retired.Equal(*retired.Retired) {
		t.Errorf("retiring twice: %+v, %v", again, err)
	}

	// Reopened from disk, the ring knows the same keys and can sign.
	ring2, err := OpenKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2b, err := ring2.Active()
	if err != nil || k2b.ID() != second.ID {
		t.Fatalf("reopened Active = %v, %v", k2b, err)
	}
	doc2, _ := json.Marshal(ring2.PublicKeys())
	keys2, err := ParseKeySet(doc2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Verify(card.QR, keys2, time.Now()); VerifyReason(err) != ReasonRetiredKey {
		t.Errorf("card of a retired key: %v", err)
	}
	if _, _, err := Verify(fresh.QR, keys2, time.Now()); err != nil {
		t.Errorf("card of the active key after reopening: %v", err)
	}

	// The published document is the JWK shape the brief fixes.
	var generic struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(doc2, &generic)
	for _, k := range generic.Keys {
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["kid"] == "" || k["x"] == "" || k["created"] == nil {
			t.Errorf("published key %v", k)
		}
		if _, hasD := k["d"]; hasD {
			t.Errorf("published key carries a private part: %v", k)
		}
		switch k["kid"] {
		case first.ID:
			if k["status"] != KeyRetired || k["retired"] == nil {
				t.Errorf("first key published as %v", k)
			}
		case second.ID:
			if k["status"] != KeyActive || k["retired"] != nil {
				t.Errorf("second key published as %v", k)
			}
		}
	}
}

func TestKeyRingRefusesLooseModes(t *testing.T) {
	if !checkModes() {
		t.Skip("no Unix permissions on this OS")
	}
	dir := filepath.Join(t.TempDir(), "keys")
	ring, err := OpenKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	pemPath := filepath.Join(dir, info.ID+".pem")
	if err := os.Chmod(pemPath, 0o640); err != nil {
		t.Fatal(err)
	}
	ring2, err := OpenKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring2.Active(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a group-readable key was used: %v", err)
	}
	os.Chmod(pemPath, 0o600)
	if _, err := ring2.Active(); err != nil {
		t.Errorf("after chmod 600: %v", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if _, err := OpenKeyRing(dir); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("a world-writable key directory was opened: %v", err)
	}
}

func TestKeyRingRefusesSwappedKeyFile(t *testing.T) {
	dir := t.TempDir()
	ring, _ := OpenKeyRing(dir)
	a, _ := ring.Rotate()
	b, _ := ring.Rotate()
	// Put key a's file where key b's should be.
	pa, _ := os.ReadFile(filepath.Join(dir, a.ID+".pem"))
	os.WriteFile(filepath.Join(dir, b.ID+".pem"), pa, 0o600)
	ring2, err := OpenKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring2.Active(); err == nil {
		t.Error("a key file holding another key was used")
	}
}

func TestParseKeySetRejects(t *testing.T) {
	k := testKey(t)
	good := newPublicJWK(k.Public(), KeyInfo{ID: k.ID(), Status: KeyActive, Created: time.Now()})
	for name, mutate := range map[string]func(*PublicJWK){
		"kid not derived from x": func(j *PublicJWK) { j.KID = seededKey(t, "other").ID() },
		"wrong curve":            func(j *PublicJWK) { j.Crv = "X25519" },
		"wrong kty":              func(j *PublicJWK) { j.Kty = "EC" },
		"short x":                func(j *PublicJWK) { j.X = j.X[:20] },
		"unknown status":         func(j *PublicJWK) { j.Status = "maybe" },
		"wrong alg":              func(j *PublicJWK) { j.Alg = "ES256" },
	} {
		j := good
		mutate(&j)
		if _, err := NewKeySet(PublicKeyDocument{Keys: []PublicJWK{j}}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewKeySet(PublicKeyDocument{Keys: []PublicJWK{good, good}}); err == nil {
		t.Error("a key listed twice was accepted")
	}
	if _, err := ParseKeySet([]byte("{")); err == nil {
		t.Error("broken JSON accepted")
	}
}
