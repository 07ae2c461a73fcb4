// Package webasset holds what the two browser front ends (the supervisor
// console and the laptop's survey form) share: the version of their
// embedded static files and the security headers of every answer.
package webasset

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
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

// ContentSecurityPolicy admits only the page's own embedded script, style
// and images: nothing inline, nothing from elsewhere, no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// SetSecurityHeaders sets what every answer of a front end carries: the
// CSP, no sniffing, no framing, no caching (pages show persons' data;
// static files override Cache-Control), and referrerPolicy.
func SetSecurityHeaders(h http.Header, referrerPolicy string) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", referrerPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}
