package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Event kinds of the hospital feed (DESIGN.md §7).
const (
	EventPersonCreated  = "person.created"
	EventPersonUpdated  = "person.updated"
	EventPersonMerged   = "person.merged"
	EventPersonUnmerged = "person.unmerged"
	EventCardIssued     = "card.issued"
	EventCardRevoked    = "card.revoked"
)

// MaxFeedPage bounds one page of the feed.
const MaxFeedPage = 1000

// Event is one entry of the feed. Person events carry the person as it is
// when the page is read, so a consumer that applies pages in order ends
// with the registry's current state; card events carry the card.
type Event struct {
	Seq        int64      `json:"seq"`
	Kind       string     `json:"kind"`
	At         time.Time  `json:"at"`
	HealthID   string     `json:"health_id"`
	MergedInto string     `json:"merged_into,omitempty"` // person.merged: the survivor
	Card       *EventCard `json:"card,omitempty"`
	Person     *Person    `json:"person,omitempty"`
}

// EventCard is the card a card event is about.
type EventCard struct {
	Serial  string `json:"serial"`
	Version int    `json:"version"`
	Reason  string `json:"reason,omitempty"` // card.revoked
}

// FeedPage is one page of events after a cursor. Next is the cursor for
// the page after: the last event's seq, or the cursor given when the page
// is empty.
type FeedPage struct {
	Events []Event `json:"events"`
	Next   int64   `json:"next"`
}

// eventData is what the events table's data column holds.
type eventData struct {
	MergedInto string `json:"merged_into,omitempty"`
	Serial     string `json:"serial,omitempty"`
	Version    int    `json:"version,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// appendEvent records kind for person in tx, so the event commits or rolls
// back with the change it reports. hid is the person's health ID (digits)
// when the caller has it, "" to look it up. A person without a health ID
// yet (none exist: IDs are issued as persons are made) has nothing to
// report.
func appendEvent(ctx context.Context, tx *txn, kind, person, hid string, d eventData, now string) error {
	if hid == "" {
		err := tx.QueryRowContext(ctx, `SELECT health_id FROM health_ids WHERE person_id = ?`, person).Scan(&hid)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return fmt.Errorf("event %s for %s: %w", kind, person, err)
		}
	}
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	// seq is one more than the last, given under the writer lock rather
	// than by AUTOINCREMENT or a sequence, so PostgreSQL too numbers events
	// without a gap (a sequence loses the values of rolled-back inserts).
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (seq, kind, person_id, health_id, data, at)
		VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), ?, ?, ?, ?, ?)`,
		kind, person, hid, string(body), now); err != nil {
		return fmt.Errorf("event %s for %s: %w", kind, person, err)
	}
	tx.wroteEvents = true
	return nil
}

// feedSignal wakes feed readers waiting for events. Each commit that wrote
// events closes the current channel and makes a new one.
type feedSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (f *feedSignal) wait() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	return f.ch
}

func (f *feedSignal) broadcast() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch != nil {
		close(f.ch)
		f.ch = nil
	}
}

// Feed returns up to limit events after seq after, each person event with
// the person's current view, and audits the read of every person in the
// page. With wait > 0 and no event after the cursor, it waits up to wait
// for one (long polling), returning an empty page if none comes.
func (s *Store) Feed(ctx context.Context, by Reader, after int64, limit int, wait time.Duration) (FeedPage, error) {
	if limit <= 0 || limit > MaxFeedPage {
		limit = MaxFeedPage
	}
	if after < 0 {
		after = 0
	}
	recheck := time.NewTicker(time.Second)
	defer recheck.Stop()
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		// Take the signal before looking, so an event committed between
		// the look and the wait still wakes us.
		signal := s.feed.wait()
		var last int64
		if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&last); err != nil {
			return FeedPage{}, fmt.Errorf("feed: %w", err)
		}
		if last > after || deadline == nil {
			break
		}
		select {
		case <-signal:
		case <-recheck.C:
			// Commands run in another process (cards revoke, import)
			// write events this process never signals.
		case <-deadline:
			return FeedPage{Events: []Event{}, Next: after}, nil
		case <-s.closing:
			return FeedPage{Events: []Event{}, Next: after}, nil
		case <-ctx.Done():
			// The client left or the server is stopping: nothing new
			// is a true answer either way.
			return FeedPage{Events: []Event{}, Next: after}, nil
		}
	}

	page := FeedPage{Events: []Event{}, Next: after}
	err := s.audited(ctx, func(ctx context.Context, tx *txn, now string) error {
		page = FeedPage{Events: []Event{}, Next: after}
		rows, err := tx.QueryContext(ctx, `SELECT seq, kind, person_id, health_id, data, at FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
		if err != nil {
			return err
		}
		var persons []string
		for rows.Next() {
			var (
				e          Event
				person, at string
				data       string
			)
			if err := rows.Scan(&e.Seq, &e.Kind, &person, &e.HealthID, &data, &at); err != nil {
				rows.Close()
				return err
			}
			e.HealthID = dashed(e.HealthID)
			e.At, _ = time.Parse(timeFormat, at)
			var d eventData
			if err := json.Unmarshal([]byte(data), &d); err != nil {
				rows.Close()
				return fmt.Errorf("event %d: %w", e.Seq, err)
			}
			if d.MergedInto != "" {
				e.MergedInto = dashed(d.MergedInto)
			}
			if d.Serial != "" {
				e.Card = &EventCard{Serial: d.Serial, Version: d.Version, Reason: d.Reason}
			}
			page.Events = append(page.Events, e)
			persons = append(persons, person)
			page.Next = e.Seq
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		views := make(map[string]*Person)
		for i := range page.Events {
			e := &page.Events[i]
			if e.Card != nil {
				continue
			}
			v, ok := views[persons[i]]
			if !ok {
				p, err := personView(ctx, tx, persons[i])
				if err != nil {
					return err
				}
				v = &p
				views[persons[i]] = v
				if err := appendAudit(ctx, tx, by, "feed.read", persons[i], p.HealthID, fmt.Sprintf("seq %d", e.Seq), now); err != nil {
					return err
				}
			}
			e.Person = v
		}
		return nil
	})
	if err != nil {
		return FeedPage{}, fmt.Errorf("feed after %d: %w", after, err)
	}
	return page, nil
}
