package surveyor

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// changesPageSize is how many changes one pull asks for.
const changesPageSize = 500

// Syncer moves records between the store and the sync server.
type Syncer struct {
	Store      *Store
	HTTPClient *http.Client // nil: a client with a two-minute timeout per request
	Retry      RetryPolicy
	Logger     *slog.Logger

	sleep func(ctx context.Context, d time.Duration) error // see Client.sleep
}

// NewSyncer returns a Syncer with the default retry policy.
func NewSyncer(store *Store) *Syncer {
	return &Syncer{Store: store, Retry: DefaultRetryPolicy()}
}

func (s *Syncer) client(serverURL, token string) *Client {
	hc := s.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	return &Client{BaseURL: serverURL, Token: token, HTTPClient: hc, Retry: s.Retry, Logger: s.Logger, sleep: s.sleep}
}

// Register registers this laptop with the server using a one-time code from
// `syncserver device add`, and stores the server URL, device identity,
// token and Aadhaar key.
func (s *Syncer) Register(ctx context.Context, serverURL, code string) (schema.Registered, error) {
	u, err := NormalizeServerURL(serverURL)
	if err != nil {
		return schema.Registered{}, err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return schema.Registered{}, &schema.Error{Code: schema.EINVALID, Field: "code", Rule: "required",
			Message: "is required: the one-time code from `syncserver device add`"}
	}
	host, _ := os.Hostname()
	reg, err := s.client(u, "").Register(ctx, schema.Registration{Code: code, Hostname: host})
	if err != nil {
		return schema.Registered{}, err
	}
	if err := s.Store.SaveRegistration(ctx, u, reg); err != nil {
		return schema.Registered{}, err
	}
	return reg, nil
}

// NormalizeServerURL checks a server URL given to `surveyor init` and
// drops a trailing slash.
func NormalizeServerURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &schema.Error{Code: schema.EINVALID, Field: "server", Rule: "url",
			Message: fmt.Sprintf("must be the server's address starting with https:// or http://, not %q", raw)}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// SyncOptions tune one sync.
type SyncOptions struct {
	BatchSize int                   // records per batch; 0 means schema.DefaultBatchSize
	Progress  func(done, total int) // called after each batch, if not nil
}

// SyncReport is what `surveyor sync --json` prints.
type SyncReport struct {
	Accepted  int     `json:"accepted"`
	Duplicate int     `json:"duplicate"`
	Stale     int     `json:"stale"`
	Rejected  int     `json:"rejected"`
	BytesSent int64   `json:"bytes_sent"` // compressed request bodies
	Seconds   float64 `json:"seconds"`
	Changes   int     `json:"changes"` // updates pulled from the server
}

// Sync pushes the outbox in batches, then pulls the server's changes. It
// may be stopped at any moment (ctx) and run again: a batch whose answer
// never arrived is re-sent and acknowledged as duplicate. On error the
// report holds what was done before it.
func (s *Syncer) Sync(ctx context.Context, opts SyncOptions) (rep SyncReport, err error) {
	start := time.Now()
	defer func() { rep.Seconds = math.Round(time.Since(start).Seconds()*1000) / 1000 }()

	size := opts.BatchSize
	switch {
	case size == 0:
		size = schema.DefaultBatchSize
	case size < 0 || size > schema.MaxRecordsPerBatch:
		return rep, &schema.Error{Code: schema.EINVALID, Field: "batch-size", Rule: "range",
			Message: fmt.Sprintf("must be between 1 and %d", schema.MaxRecordsPerBatch)}
	}
	reg, err := s.Store.Registration(ctx)
	if err != nil {
		return rep, err
	}
	c := s.client(reg.ServerURL, reg.Token)

	total, err := s.Store.pendingCount(ctx)
	if err != nil {
		return rep, err
	}
	done := 0
	var after int64
	for {
		recs, last, err := s.Store.pending(ctx, after, size)
		if err != nil {
			return rep, err
		}
		if len(recs) == 0 {
			break
		}
		batch := schema.Batch{BatchID: schema.NewID(), DeviceID: reg.DeviceID, SchemaVersion: schema.SchemaVersion, Records: recs}
		res, sent, err := c.PushBatch(ctx, batch)
		rep.BytesSent += sent
		if err != nil {
			return rep, explain(err)
		}
		res.Results = resultsFor(recs, res.Results)
		if err := s.Store.ApplyResults(ctx, res); err != nil {
			return rep, err
		}
		a, d, st, rj := res.Counts()
		rep.Accepted += a
		rep.Duplicate += d
		rep.Stale += st
		rep.Rejected += rj
		done += len(recs)
		if opts.Progress != nil {
			opts.Progress(done, max(total, done))
		}
		after = last
	}

	n, err := s.pull(ctx, c)
	rep.Changes = n
	if err != nil {
		return rep, explain(err)
	}
	if err := setSetting(ctx, s.Store.db, settingLastSync, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return rep, err
	}
	return rep, nil
}

// pull reads change pages until the server has no more.
func (s *Syncer) pull(ctx context.Context, c *Client) (int, error) {
	n := 0
	cur, err := cursor(ctx, s.Store.db)
	if err != nil {
		return 0, err
	}
	for {
		ch, err := c.Changes(ctx, cur, changesPageSize)
		if err != nil {
			return n, err
		}
		if err := s.Store.ApplyChanges(ctx, ch); err != nil {
			return n, err
		}
		n += len(ch.Changes)
		// A server that says "more" without moving the cursor would keep
		// us here forever; the next sync asks again.
		if !ch.More || ch.Cursor <= cur {
			return n, nil
		}
		cur = ch.Cursor
	}
}

// resultsFor keeps only the results that answer a record of the batch, so
// a confused server cannot mark records it was never sent as synced.
func resultsFor(recs []schema.Record, results []schema.RecordResult) []schema.RecordResult {
	type key struct {
		kind, id string
		version  int64
	}
	sent := make(map[key]bool, len(recs))
	for _, r := range recs {
		sent[key{r.Kind, r.ID, r.Version}] = true
	}
	out := results[:0:0]
	for _, r := range results {
		if sent[key{r.Kind, r.ID, r.Version}] {
			out = append(out, r)
		}
	}
	return out
}

// explain adds what the worker can do about the errors they can act on.
func explain(err error) error {
	switch schema.ErrorCode(err) {
	case schema.EUNAUTHORIZED:
		return fmt.Errorf("%w\nthe server no longer accepts this laptop's token: ask your supervisor for a new code and run `surveyor init` again", err)
	case schema.EINTERNAL:
		return fmt.Errorf("%w\nnothing is lost: your records stay on this laptop; run `surveyor sync` again when the network is back", err)
	}
	return err
}
