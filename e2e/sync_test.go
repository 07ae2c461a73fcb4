package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// A survey worker imports a day's households and syncs: the server ends with
// exactly what the laptop holds, and a second sync sends nothing new.
func TestSyncDeliversEverythingOnce(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "registry.db"))
	l := newLaptop(t, srv, "laptop-01")
	l.run(t, "import", generate(t, 300, 0.1, 7))

	before := l.status(t)
	if before.Households < 300 || before.Residents < before.Households || before.Pending == 0 {
		t.Fatalf("after import: %+v", before)
	}
	rep := l.sync(t)
	if rep.Accepted != before.Households+before.Residents || rep.Rejected != 0 || rep.BytesSent == 0 {
		t.Fatalf("first sync %+v for %d households and %d residents", rep, before.Households, before.Residents)
	}
	if got := srv.stats(t); got.Households != before.Households || got.Residents != before.Residents {
		t.Fatalf("server holds %+v, laptop %+v", got, before)
	}
	again := l.sync(t)
	if again.Accepted != 0 || again.Duplicate != 0 || again.Rejected != 0 {
		t.Fatalf("second sync sent records again: %+v", again)
	}
	after := l.status(t)
	if after.Pending != 0 || after.Rejected != 0 || after.LastSync == "" {
		t.Fatalf("after sync: %+v", after)
	}
	if got := srv.stats(t); got.Households != before.Households || got.Residents != before.Residents {
		t.Fatalf("second sync changed the server: %+v", got)
	}
}

// cuttingProxy forwards to the server, but for the first cuts batch pushes it
// lets the server commit and answer, then drops the laptop's connection
// before the answer reaches it: the worst moment for a bad network.
type cuttingProxy struct {
	upstream string
	cuts     atomic.Int32 // pushes still to cut
	cut      atomic.Int32 // pushes cut so far
}

func (p *cuttingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if r.URL.Path == "/api/v1/sync/batches" && resp.StatusCode == http.StatusOK && p.cuts.Add(-1) >= 0 {
		p.cut.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

// The connection drops after the server committed a batch but before the
// laptop read the reply; the laptop retries, and every record ends on the
// server exactly once and synced on the laptop.
func TestSyncSurvivesConnectionCutAfterCommit(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "registry.db"))
	proxy := &cuttingProxy{upstream: srv.url()}
	proxy.cuts.Store(3)
	front := httptest.NewServer(proxy)
	defer front.Close()

	l := newLaptopVia(t, srv, front.URL, "laptop-02")
	l.run(t, "import", generate(t, 200, 0.1, 11))
	before := l.status(t)

	rep := l.sync(t)
	if proxy.cut.Load() != 3 {
		t.Fatalf("proxy cut %d pushes, want 3", proxy.cut.Load())
	}
	if rep.Rejected != 0 || rep.Accepted+rep.Duplicate != before.Households+before.Residents || rep.Duplicate == 0 {
		t.Fatalf("sync across cuts: %+v for %d records; the retried batches should come back duplicate", rep, before.Households+before.Residents)
	}
	if got := srv.stats(t); got.Households != before.Households || got.Residents != before.Residents {
		t.Fatalf("server holds %+v, laptop %+v", got, before)
	}
	if after := l.status(t); after.Pending != 0 || after.Rejected != 0 {
		t.Fatalf("laptop after sync: %+v", after)
	}
}
