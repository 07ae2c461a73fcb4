// Package webasset holds what the two browser front ends (the supervisor
// console and the laptop's survey form) share: the version of their
// embedded static files, the security headers of every answer, and how a
// page is written whole.
package webasset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
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

// WritePage executes t's "layout" with data and writes the page whole,
// with status: a template that fails halfway is logged (as what) and
// answered 500, never half a page.
func WritePage(w http.ResponseWriter, logger *slog.Logger, what string, t *template.Template, status int, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		logger.Error(what+" template", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
