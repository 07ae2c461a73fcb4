package ui

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// probeEvery is how long a reachability answer holds before the next page
// asks the server again.
const probeEvery = 10 * time.Second

// netState is what the form last learnt about reaching the sync server.
type netState struct {
	mu      sync.Mutex
	known   bool
	online  bool
	checked time.Time
	probing bool
}

// netView is the banner every page shows: online or not, and how many
// households wait to be sent.
type netView struct {
	Known   bool `json:"known"`
	Online  bool `json:"online"`
	Waiting int  `json:"waiting"`
}

// fill sets the page's banner from the last answer, and asks again in the
// background when it is old: a page never waits for the network.
func (n *netState) fill(p *page, s *Server, waiting int) {
	v := &netView{Waiting: waiting}
	n.mu.Lock()
	v.Known, v.Online = n.known, n.online
	stale := !n.probing && time.Since(n.checked) > probeEvery
	if stale {
		n.probing = true
	}
	n.mu.Unlock()
	if stale {
		go s.probe(s.baseContext())
	}
	p.Net = v
}

func (n *netState) set(online bool) {
	n.mu.Lock()
	n.known, n.online, n.checked = true, online, time.Now()
	n.mu.Unlock()
}

// probe asks the sync server's /healthz whether it can be reached.
func (s *Server) probe(ctx context.Context) bool {
	online := false
	defer func() {
		s.net.mu.Lock()
		s.net.probing = false
		s.net.mu.Unlock()
		s.net.set(online)
	}()
	reg, err := s.lap.Registration(ctx)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.ServerURL+"/healthz", nil)
	if err != nil {
		return false
	}
	res, err := s.hc.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	online = res.StatusCode < 500
	return online
}

// waiting counts households with a record not yet on the server.
func (s *Server) waiting(ctx context.Context) int {
	list, err := s.lap.List(ctx, surveyor.ListFilter{Pending: true, Rejected: true})
	if err != nil {
		s.logger.Warn("survey form: count waiting households", "err", err)
		return 0
	}
	return len(list)
}

// syncState is the one sync the form runs at a time.
type syncState struct {
	running  bool
	done     int
	total    int
	finished time.Time
	report   *surveyor.SyncReport
	err      error
	offline  bool
}

// syncView is the sync panel, for the page and its script.
type syncView struct {
	Running bool   `json:"running"`
	Done    int    `json:"done"`
	Total   int    `json:"total"`
	Kind    string `json:"kind"` // "", running, ok, offline, error
	Message string `json:"message"`
	Waiting int    `json:"waiting"`
	Online  bool   `json:"online"`
	Known   bool   `json:"known"`
	At      string `json:"at,omitempty"`
}

// startSync runs `surveyor sync`'s sync in the background, unless one
// runs. It asks the server first, so an offline laptop hears so at once
// instead of after minutes of retries.
func (s *Server) startSync() {
	s.syncMu.Lock()
	if s.sync.running {
		s.syncMu.Unlock()
		return
	}
	s.sync = syncState{running: true}
	s.syncMu.Unlock()
	// The sync's own check of the server counts as the one running: a
	// page shown meanwhile does not start another (probe clears it).
	s.net.mu.Lock()
	s.net.probing = true
	s.net.mu.Unlock()
	go func() {
		ctx := s.baseContext()
		var rep surveyor.SyncReport
		var err error
		offline := !s.probe(ctx)
		if !offline {
			rep, err = s.syncer.Sync(ctx, surveyor.SyncOptions{Progress: func(done, total int) {
				s.syncMu.Lock()
				s.sync.done, s.sync.total = done, total
				s.syncMu.Unlock()
			}})
			if err != nil && schema.ErrorCode(err) == schema.EINTERNAL && rep.Accepted+rep.Duplicate+rep.Stale+rep.Rejected == 0 {
				// No answer at all: the network went between the probe and the push.
				s.net.mu.Lock()
				s.net.probing = true
				s.net.mu.Unlock()
				offline = !s.probe(ctx)
			}
		}
		s.lists.forget()
		s.syncMu.Lock()
		s.sync.running, s.sync.finished, s.sync.offline = false, time.Now(), offline
		if !offline {
			s.sync.report, s.sync.err = &rep, err
		}
		s.syncMu.Unlock()
		if err != nil && !offline {
			s.logger.Warn("survey form: sync", "err", err)
		}
	}()
}

func (s *Server) syncView(msgs map[string]string, waiting int) syncView {
	s.syncMu.Lock()
	st := s.sync
	s.syncMu.Unlock()
	s.net.mu.Lock()
	v := syncView{Waiting: waiting, Online: s.net.online, Known: s.net.known}
	s.net.mu.Unlock()
	if !st.finished.IsZero() {
		v.At = st.finished.Local().Format("15:04:05")
	}
	switch {
	case st.running:
		v.Running, v.Kind, v.Done, v.Total = true, "running", st.done, st.total
		v.Message = fmt.Sprintf(msgs["sync.running"], st.done, st.total)
		if st.total == 0 {
			v.Message = msgs["sync.starting"]
		}
	case st.offline:
		v.Kind = "offline"
		v.Message = fmt.Sprintf(msgs["sync.offline"], waiting)
	case st.err != nil:
		v.Kind = "error"
		v.Message = fmt.Sprintf(msgs["sync.failed"], schema.ErrorMessage(st.err))
	case st.report != nil:
		r := st.report
		v.Kind = "ok"
		v.Message = fmt.Sprintf(msgs["sync.done"], r.Accepted+r.Duplicate+r.Stale+r.Rejected, r.Accepted, r.Duplicate+r.Stale, r.Rejected, r.Changes)
		if r.Rejected > 0 {
			v.Message += " " + msgs["sync.rejected"]
		}
	}
	return v
}

// handleSyncPost starts a sync; the page's script then follows it with
// GET /api/sync, a page without script reloads the list.
func (s *Server) handleSyncPost(w http.ResponseWriter, r *http.Request) error {
	s.startSync()
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, s.syncView(s.cat.messages(s.lang(r)), s.waiting(r.Context())))
		return nil
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// handleSyncState is the sync panel and the online banner as JSON. When
// no sync runs and the last answer about the server is old, it asks the
// server again first.
func (s *Server) handleSyncState(w http.ResponseWriter, r *http.Request) error {
	s.syncMu.Lock()
	running := s.sync.running
	s.syncMu.Unlock()
	s.net.mu.Lock()
	stale := !running && !s.net.probing && time.Since(s.net.checked) > probeEvery
	if stale {
		s.net.probing = true
	}
	s.net.mu.Unlock()
	if stale {
		s.probe(r.Context())
	}
	writeJSON(w, http.StatusOK, s.syncView(s.cat.messages(s.lang(r)), s.waiting(r.Context())))
	return nil
}
