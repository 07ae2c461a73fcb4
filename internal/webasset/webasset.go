// Package webasset holds what the two browser front ends (the supervisor
// console and the laptop's survey form) share about their embedded
// static files.
package webasset

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
)

// Version names the content of the files under dir in fsys, so their URLs
// change when they do and browsers may cache them for good.
func Version(fsys fs.FS, dir string) string {
	h := sha256.New()
	fs.WalkDir(fsys, dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(fsys, path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
