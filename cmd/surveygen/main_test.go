package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doorstep-health/doorstep/surveygen"
)

func TestRunStdout(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"--households", "200", "--dup-rate", "0.2", "--seed", "9", "--stats"}, &out, &errs)
	if err != nil {
		t.Fatal(err, errs.String())
	}
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 200 {
		t.Fatalf("%d lines, want 200", len(lines))
	}
	var lib bytes.Buffer
	if err := surveygen.New(surveygen.Options{Households: 200, DupRate: 0.2, Seed: 9}).Write(context.Background(), &lib); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), lib.Bytes()) {
		t.Fatal("the command and the library wrote different bytes for the same options")
	}
	var st surveygen.Stats
	if err := json.Unmarshal(errs.Bytes(), &st); err != nil || st.Households != 200 || st.Duplicated == 0 {
		t.Fatalf("stats %q: %v", errs.String(), err)
	}
}

func TestRunOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "survey.jsonl")
	var out, errs bytes.Buffer
	args := []string{"--households", "50", "--seed", "3", "--out", path, "--start", "2027-01-04T10:00:00+05:30", "--days", "5"}
	if err := run(context.Background(), args, &out, &errs); err != nil {
		t.Fatal(err, errs.String())
	}
	if out.Len() != 0 {
		t.Fatalf("wrote %d bytes to standard output with --out", out.Len())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != 50 {
		t.Fatalf("%d lines in the file", n)
	}
	if !bytes.Contains(b, []byte(`"visited_at":"2027-01-0`)) {
		t.Fatalf("--start ignored: %.200s", b)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".surveygen-*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestRunBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"--households", "-1"},
		{"--dup-rate", "1.5"},
		{"--start", "yesterday"},
		{"--nope"},
		{"extra"},
		{"--out", filepath.Join(t.TempDir(), "missing", "dir", "x.jsonl")},
	} {
		var out, errs bytes.Buffer
		if err := run(context.Background(), args, &out, &errs); err == nil {
			t.Errorf("%s: no error", strings.Join(args, " "))
		}
	}
}
