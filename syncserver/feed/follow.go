// Package feed is the reference consumer of the server's hospital feed
// (GET /api/v1/feed): it appends every event, in order and exactly once,
// to a local JSON-lines file, and resumes from that file after a restart.
// A hospital module replays the file to keep its copy of the registry.
package feed

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// Follower keeps Out in step with a server's feed.
type Follower struct {
	Server string // base URL, e.g. http://127.0.0.1:8080
	Token  string // a hospital token
	Out    string // the JSON-lines file events are appended to
	Client *http.Client
	Logger *slog.Logger
	// Wait is the long-poll time asked of the server when caught up.
	Wait time.Duration
	// Limit is the page size asked for; 0 is the server's maximum.
	Limit int
}

// Progress is what a run did.
type Progress struct {
	Cursor   int64 `json:"cursor"`   // the last event's seq in Out
	Received int   `json:"received"` // events appended by this run
}

// Cursor reads the seq of the last whole event in path, cutting off a
// partial last line left by a crash mid-write. A missing file is cursor 0.
func Cursor(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var cursor, whole int64
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				// A line without its newline was being written when the
				// process died: the event was not kept, so drop it and
				// fetch it again.
				if err := f.Truncate(whole); err != nil {
					return 0, fmt.Errorf("%s: cut partial line: %w", path, err)
				}
			}
			return cursor, nil
		}
		if err != nil {
			return 0, err
		}
		var e struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			return 0, fmt.Errorf("%s: byte %d: not an event: %w", path, whole, err)
		}
		if e.Seq <= cursor {
			return 0, fmt.Errorf("%s: byte %d: event %d after %d: the file is out of order", path, whole, e.Seq, cursor)
		}
		cursor = e.Seq
		whole += int64(len(line))
	}
}

// Run follows the feed from Out's cursor. With untilIdle it returns once a
// page comes back empty (caught up); otherwise it follows until ctx ends,
// long-polling when caught up and backing off when the server is away.
func (f *Follower) Run(ctx context.Context, untilIdle bool) (Progress, error) {
	cursor, err := Cursor(f.Out)
	if err != nil {
		return Progress{}, fmt.Errorf("follow feed: %w", err)
	}
	prog := Progress{Cursor: cursor}
	out, err := os.OpenFile(f.Out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return prog, fmt.Errorf("follow feed: %w", err)
	}
	defer out.Close()
	logger := f.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backoff := time.Second
	for {
		wait := f.Wait
		if untilIdle {
			wait = 0
		}
		page, err := f.fetch(ctx, prog.Cursor, wait)
		if err != nil {
			if ctx.Err() != nil {
				return prog, nil
			}
			var pe *schema.Error
			if errors.As(err, &pe) && (pe.Code == schema.EUNAUTHORIZED || pe.Code == schema.EFORBIDDEN || pe.Code == schema.EINVALID) {
				return prog, fmt.Errorf("follow feed: %w", err)
			}
			logger.Warn("feed unreachable; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return prog, nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Minute)
			continue
		}
		backoff = time.Second
		if len(page.Events) == 0 {
			if untilIdle {
				return prog, nil
			}
			continue
		}
		var buf bytes.Buffer
		for _, raw := range page.Events {
			var e struct {
				Seq int64 `json:"seq"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return prog, fmt.Errorf("follow feed: event after %d: %w", prog.Cursor, err)
			}
			if e.Seq <= prog.Cursor {
				return prog, fmt.Errorf("follow feed: server sent event %d after %d", e.Seq, prog.Cursor)
			}
			buf.Write(raw)
			buf.WriteByte('\n')
			prog.Cursor = e.Seq
			prog.Received++
		}
		// The page is kept, whole, before the cursor moves past it: the
		// cursor is the file itself.
		if _, err := out.Write(buf.Bytes()); err != nil {
			return prog, fmt.Errorf("follow feed: write %s: %w", f.Out, err)
		}
		if err := out.Sync(); err != nil {
			return prog, fmt.Errorf("follow feed: sync %s: %w", f.Out, err)
		}
		logger.Info("feed page", "events", len(page.Events), "cursor", prog.Cursor)
	}
}

// rawPage is a feed page with events kept as the server sent them.
type rawPage struct {
	Events []json.RawMessage `json:"events"`
	Next   int64             `json:"next"`
}

func (f *Follower) fetch(ctx context.Context, after int64, wait time.Duration) (rawPage, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(f.Server, "/")+"/api/v1/feed?"+q.Encode(), nil)
	if err != nil {
		return rawPage{}, err
	}
	req.Header.Set("Authorization", "Bearer "+f.Token)
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: wait + time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		return rawPage{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return rawPage{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var p schema.Problem
		if json.Unmarshal(body, &p) == nil && p.Code != "" {
			return rawPage{}, &schema.Error{Code: p.Code, Field: p.Field, Message: p.Message}
		}
		return rawPage{}, &schema.Error{Code: schema.CodeForStatus(resp.StatusCode), Message: resp.Status}
	}
	var page rawPage
	if err := json.Unmarshal(body, &page); err != nil {
		return rawPage{}, fmt.Errorf("feed page: %w", err)
	}
	return page, nil
}

// Registry is a hospital's copy of the registry rebuilt from a feed file:
// every person by health ID, as the latest event about it showed it.
type Registry map[string]store.Person

// Active is the health IDs of persons not merged away.
func (r Registry) Active() []string {
	var out []string
	for id, p := range r {
		if p.Status == "active" {
			out = append(out, id)
		}
	}
	return out
}

// Replay folds the events of a feed file into a Registry.
func Replay(path string) (Registry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reg := Registry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e store.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("replay %s: %w", path, err)
		}
		switch {
		case e.Person != nil:
			reg[e.HealthID] = *e.Person
		case e.Card != nil:
			p := reg[e.HealthID]
			status := "queued"
			if e.Kind == store.EventCardRevoked {
				status = "revoked"
			}
			if p.Card == nil || p.Card.Version <= e.Card.Version {
				p.Card = &store.PersonCard{Serial: e.Card.Serial, Version: e.Card.Version, Status: status}
			}
			reg[e.HealthID] = p
		case e.Kind == store.EventPersonMerged:
			p := reg[e.HealthID]
			p.Status, p.MergedInto = "merged", e.MergedInto
			reg[e.HealthID] = p
		}
	}
	return reg, sc.Err()
}
