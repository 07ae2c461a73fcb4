package feed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The file is the follower's cursor: the last whole event counts, a line
// cut off by a crash is dropped (and so fetched again), and a file whose
// events go backwards is refused rather than trusted.
func TestCursor(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		cursor        int64
		kept          string // the file after Cursor; "" means unchanged
		err           string
	}{
		{name: "missing file", cursor: 0},
		{name: "empty", content: "", cursor: 0},
		{name: "whole events", content: "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":5}\n", cursor: 5},
		{name: "cut mid-line", content: "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3,\"ki", cursor: 2, kept: "{\"seq\":1}\n{\"seq\":2}\n"},
		{name: "out of order", content: "{\"seq\":2}\n{\"seq\":2}\n", err: "out of order"},
		{name: "not an event", content: "{\"seq\":1}\nhello\n", err: "not an event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "copy.jsonl")
			if tc.name != "missing file" {
				if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Cursor(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Cursor: %v, want an error saying %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.cursor {
				t.Fatalf("Cursor = %d, %v; want %d", got, err, tc.cursor)
			}
			if tc.kept != "" {
				data, _ := os.ReadFile(path)
				if string(data) != tc.kept {
					t.Errorf("file after Cursor: %q, want %q", data, tc.kept)
				}
			}
		})
	}
}
