package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-health/doorstep/surveyor"
)

// pageSize is how many households one page of the list shows.
const pageSize = 50

// Household states the list shows, most urgent first.
const (
	stateRejected    = "rejected"
	statePending     = "pending"
	stateSynced      = "synced"
	stateHealthID    = "health_id"
	stateCardPrinted = "card_printed"
)

type listPage struct {
	Rows     []listRow
	Query    string
	All      bool // every day, not only today
	Total    int  // households matching, over all pages
	Page     int
	Pages    int
	Prev     string
	Next     string
	Drafts   []draftView
	Sync     syncView
	Today    string
	AllURL   string
	TodayURL string
}

type listRow struct {
	ID, Head, Address, Area, Visited, Outcome string
	State                                     string
	Members                                   []listMember
	Rejections                                []string
	HealthIDs, Cards                          int
}

type listMember struct {
	Name, Relation, HealthID, Card, Sync string
}

// handleList is the list of today's households with their sync state,
// searchable by name or phone, with the sync button.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	p := &page{Title: "title.list", Nav: "list"}
	msgs := s.cat.messages(s.lang(r))
	d := &listPage{Query: strings.TrimSpace(q.Get("q")), All: q.Get("all") == "1"}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)

	all, err := s.summaries(ctx)
	if err != nil {
		return err
	}
	waiting := 0
	now := s.now()
	today := now.Local().Format("2006-01-02")
	d.Today = now.Local().Format("2 Jan 2006")
	var scope []surveyor.HouseholdSummary
	for i := len(all) - 1; i >= 0; i-- { // newest first
		h := all[i]
		if h.Status == surveyor.StatusPending || h.Status == surveyor.StatusRejected {
			waiting++
		}
		if !d.All && localDate(h.VisitedAt) != today {
			continue
		}
		scope = append(scope, h)
	}
	if d.Query != "" {
		scope = s.search.filter(ctx, s.lap, scope, d.Query)
	}
	d.Total = len(scope)
	d.Pages = max(1, (d.Total+pageSize-1)/pageSize)
	d.Page = min(d.Page, d.Pages)
	from := (d.Page - 1) * pageSize
	for _, h := range scope[from:min(from+pageSize, len(scope))] {
		row, err := s.row(ctx, msgs, h)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, row)
	}
	link := func(page int, all bool) string {
		v := url.Values{}
		if d.Query != "" {
			v.Set("q", d.Query)
		}
		if all {
			v.Set("all", "1")
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return "/"
		}
		return "/?" + v.Encode()
	}
	if d.Page > 1 {
		d.Prev = link(d.Page-1, d.All)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page+1, d.All)
	}
	d.AllURL, d.TodayURL = link(1, true), link(1, false)
	d.Drafts = s.offeredDrafts(ctx, "")
	d.Sync = s.syncView(msgs, waiting)
	p.Flash = s.flash(ctx, msgs, q)
	p.Data = d
	s.net.fill(p, s, waiting)
	s.render(w, r, http.StatusOK, "list", p)
	return nil
}

// flash says what the worker just did, from the redirect's query.
func (s *Server) flash(ctx context.Context, msgs map[string]string, q url.Values) string {
	if id := q.Get("saved"); id != "" {
		if v, err := s.lap.Household(ctx, id); err == nil {
			return fmt.Sprintf(msgs["flash.saved"], headOf(v), len(v.Members))
		}
	}
	if id := q.Get("edited"); id != "" {
		if v, err := s.lap.Household(ctx, id); err == nil {
			if q.Get("changed") == "0" {
				return fmt.Sprintf(msgs["flash.unchanged"], headOf(v))
			}
			return fmt.Sprintf(msgs["flash.edited"], headOf(v), q.Get("changed"))
		}
	}
	return ""
}

func headOf(v *surveyor.HouseholdView) string {
	for _, m := range v.Members {
		if m.Relation == "head" {
			return m.Name
		}
	}
	return v.Address.Line1
}

// row reads one household's members for the list: health IDs and cards
// arrive per member.
func (s *Server) row(ctx context.Context, msgs map[string]string, h surveyor.HouseholdSummary) (listRow, error) {
	row := listRow{ID: h.ID, Head: h.Head, Address: h.Address, Area: h.Area, Outcome: h.Outcome,
		Visited: localTime(h.VisitedAt)}
	v, err := s.lap.Household(ctx, h.ID)
	if err != nil {
		return row, err
	}
	for _, m := range v.Members {
		row.Members = append(row.Members, listMember{Name: m.Name, Relation: m.Relation, HealthID: m.HealthID,
			Card: m.CardStatus, Sync: m.SyncStatus})
		if m.HealthID != "" {
			row.HealthIDs++
		}
		if slices.Contains([]string{"printed", "dispatched", "delivered"}, m.CardStatus) {
			row.Cards++
		}
	}
	for _, rj := range h.Rejections {
		row.Rejections = append(row.Rejections, rejectionText(msgs, rj))
	}
	n := len(v.Members)
	switch {
	case h.Status == surveyor.StatusRejected:
		row.State = stateRejected
	case h.Status == surveyor.StatusPending:
		row.State = statePending
	case n > 0 && row.Cards == n:
		row.State = stateCardPrinted
	case n > 0 && row.HealthIDs == n:
		row.State = stateHealthID
	default:
		row.State = stateSynced
	}
	return row, nil
}

func localDate(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return ""
	}
	return t.Local().Format("2006-01-02")
}

func localTime(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return rfc3339
	}
	return t.Local().Format("2 Jan 15:04")
}

// searchCache keeps, per household, the names and phone digits a search
// looks in, so searching a full laptop reads each household once. The
// form forgets a household it saves; an edit made with the command line
// while the form runs is seen after a restart of `surveyor ui`.
type searchCache struct {
	mu   sync.Mutex
	keys map[string]string
}

func (c *searchCache) forget(id string) {
	c.mu.Lock()
	delete(c.keys, id)
	c.mu.Unlock()
}

// filter keeps the households with a member whose name contains q, or
// whose phone contains q's digits (four or more).
func (c *searchCache) filter(ctx context.Context, lap Laptop, list []surveyor.HouseholdSummary, q string) []surveyor.HouseholdSummary {
	q = strings.ToLower(q)
	digits := onlyDigits(q)
	if len(digits) < 4 || len(digits) < len(strings.ReplaceAll(strings.TrimPrefix(q, "+"), " ", "")) {
		digits = "" // not a phone number: a name
	}
	var out []surveyor.HouseholdSummary
	for _, h := range list {
		if digits == "" && strings.Contains(strings.ToLower(h.Head), q) {
			out = append(out, h)
			continue
		}
		key := c.key(ctx, lap, h.ID)
		if digits != "" && strings.Contains(key, digits) || digits == "" && strings.Contains(key, q) {
			out = append(out, h)
		}
	}
	return out
}

func (c *searchCache) key(ctx context.Context, lap Laptop, id string) string {
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	v, err := lap.Household(ctx, id)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, m := range v.Members {
		b.WriteString(strings.ToLower(m.Name) + "|" + strings.ToLower(m.FatherName) + "|" + strings.ToLower(m.SpouseName) + "|")
		if p := onlyDigits(m.Phone); p != "" {
			b.WriteString(" " + p + " ")
		}
	}
	k = b.String()
	c.mu.Lock()
	c.keys[id] = k
	c.mu.Unlock()
	return k
}

// listCache keeps the store's household summaries between page loads:
// decoding every household and member of a full laptop is most of a
// list page's time. It is keyed by the store's counts (households,
// residents, records pending, synced and rejected, the last sync), which
// every save, import and sync changes, and dropped when the form itself
// saves. An edit made with `surveyor edit` to a household that was
// already pending changes no count: its new head or address shows after
// the next save, sync or restart of the form (its sync state and health
// IDs are always read fresh).
type listCache struct {
	mu   sync.Mutex
	key  string
	list []surveyor.HouseholdSummary
}

func (c *listCache) forget() {
	c.mu.Lock()
	c.key, c.list = "", nil
	c.mu.Unlock()
}

func (s *Server) summaries(ctx context.Context) ([]surveyor.HouseholdSummary, error) {
	st, err := s.lap.Status(ctx)
	if err != nil {
		return s.lap.List(ctx, surveyor.ListFilter{})
	}
	last := ""
	if st.LastSync != nil {
		last = *st.LastSync
	}
	key := fmt.Sprintf("%d/%d/%d/%d/%d/%s", st.Households, st.Residents, st.Pending, st.Synced, st.Rejected, last)
	s.lists.mu.Lock()
	defer s.lists.mu.Unlock()
	if s.lists.key == key && s.lists.list != nil {
		return s.lists.list, nil
	}
	list, err := s.lap.List(ctx, surveyor.ListFilter{})
	if err != nil {
		return nil, err
	}
	s.lists.key, s.lists.list = key, list
	return list, nil
}
