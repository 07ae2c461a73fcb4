package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/match"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// queueLimit is how many tasks the queue page lists: a morning's work,
// and each listed task is an audited read of two persons.
const queueLimit = 50

// reviewStatuses are the queue page's filters.
var reviewStatuses = []string{"open", store.DecisionSame, store.DecisionDifferent, "all"}

type queueData struct {
	Status   string
	Statuses []string
	Tasks    []store.ReviewTask
	Limit    int
	Open     int64
	Decided  int64
}

func (c *console) handleReviewQueue(w http.ResponseWriter, r *http.Request, s *session) error {
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "open"
	}
	tasks, err := c.reg.ReviewTasks(auditedCtx(r, s), store.ReviewFilter{Status: status, Limit: queueLimit})
	if err != nil {
		return err
	}
	st, err := c.reg.Stats(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "review", &page{Title: "Review tasks", Nav: "review", Session: s,
		Data: queueData{Status: status, Statuses: reviewStatuses, Tasks: tasks, Limit: queueLimit, Open: st.ReviewOpen, Decided: st.ReviewDecided}})
	return nil
}

// handleReviewNext goes to the open task after ?after= in the queue's
// order (the most likely matches first), wrapping round to the first.
func (c *console) handleReviewNext(w http.ResponseWriter, r *http.Request, s *session) error {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	c.redirectToNext(w, r, s, max(after, 0))
	return nil
}

// redirectToNext sends the browser to the next open task, or to the queue
// when none is left.
func (c *console) redirectToNext(w http.ResponseWriter, r *http.Request, s *session, after int64) {
	next, err := c.nextTask(auditedCtx(r, s), s, after)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if next == 0 {
		s.setFlash(joinFlash(s.takeFlash(), "No open review task is left."))
		http.Redirect(w, r, Prefix+"/review", http.StatusSeeOther)
		return
	}
	to := fmt.Sprintf("%s/review/%d", Prefix, next)
	if after > 0 {
		to += fmt.Sprintf("?prev=%d", after)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// nextScan bounds how many open tasks "next" steps over that other
// supervisors have open, before it gives the first of them anyway.
const nextScan = 8

// nextTask is the open task after after in the queue's order, wrapping
// round, other than after itself; it passes over tasks another session
// has open (a lease), unless every task it looks at is such.
func (c *console) nextTask(ctx context.Context, s *session, after int64) (int64, error) {
	var fallback int64
	seen := map[int64]bool{}
	cursor, wrapped := after, false
	for range nextScan {
		tasks, err := c.reg.ReviewTasks(ctx, store.ReviewFilter{Status: "open", Limit: 1, After: cursor})
		if err != nil {
			return 0, err
		}
		if len(tasks) == 0 {
			if wrapped || cursor == 0 {
				break
			}
			// Past the end: tasks skipped on the way are still open.
			wrapped, cursor = true, 0
			continue
		}
		id := tasks[0].ID
		if seen[id] {
			break
		}
		seen[id], cursor = true, id
		if id == after {
			continue
		}
		if !c.leases.heldByOther(id, s) {
			return id, nil
		}
		if fallback == 0 {
			fallback = id
		}
	}
	return fallback, nil
}

// leaseTime is how long a task page opened keeps the task out of other
// supervisors' "next".
const leaseTime = 2 * time.Minute

// leases say which session has which open task on screen, so two
// supervisors working the queue are not handed the same task.
type leases struct {
	now func() time.Time

	mu sync.Mutex
	m  map[int64]lease
}

type lease struct {
	holder *session
	until  time.Time
}

func newLeases(now func() time.Time) *leases {
	return &leases{now: now, m: make(map[int64]lease)}
}

// take gives task id to s unless another session holds it.
func (l *leases) take(id int64, s *session) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, ls := range l.m {
		if !now.Before(ls.until) {
			delete(l.m, k)
		}
	}
	if ls, ok := l.m[id]; ok && ls.holder != s {
		return
	}
	l.m[id] = lease{holder: s, until: now.Add(leaseTime)}
}

func (l *leases) heldByOther(id int64, s *session) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	ls, ok := l.m[id]
	return ok && ls.holder != s && now.Before(ls.until)
}

// release ends any lease of task id: it is decided.
func (l *leases) release(id int64) {
	l.mu.Lock()
	delete(l.m, id)
	l.mu.Unlock()
}

func joinFlash(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// taskData is the task page's.
type taskData struct {
	Task store.ReviewTask
	Rows []match.Evidence
	// Prior and Total are the comparison's log2 odds before and after the
	// evidence.
	Prior, Total float64
	Blocks       []string
	Prev         int64
	Sides        []sideData
}

type sideData struct {
	Label string
	store.ReviewSide
}

func (c *console) handleReviewTask(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id", "review task")
	if err != nil {
		return err
	}
	task, err := c.reg.ReviewTask(auditedCtx(r, s), id)
	if err != nil {
		return err
	}
	if task.Status == "open" {
		c.leases.take(id, s)
	}
	d := taskData{Task: task, Sides: []sideData{{"A", task.A}, {"B", task.B}}, Total: task.Weight}
	if prev, err := strconv.ParseInt(r.URL.Query().Get("prev"), 10, 64); err == nil && prev > 0 {
		d.Prev = prev
	}
	if cmp := task.Comparison; cmp != nil {
		d.Rows, d.Prior, d.Total, d.Blocks = cmp.Evidence, cmp.Prior, cmp.Weight, cmp.Blocks
	} else {
		d.Rows = fieldsOf(task.A.Resident, task.B.Resident)
	}
	c.render(w, r, http.StatusOK, "task", &page{Title: fmt.Sprintf("Review task %d", id), Nav: "review", Session: s, Data: d})
	return nil
}

// fieldsOf lines up two residents field by field when a task carries no
// scored comparison.
func fieldsOf(a, b schema.Resident) []match.Evidence {
	return []match.Evidence{
		{Field: match.FieldName, Level: "not scored", A: a.Name, B: b.Name},
		{Field: match.FieldFather, Level: "not scored", A: a.FatherName, B: b.FatherName},
		{Field: match.FieldSpouse, Level: "not scored", A: a.SpouseName, B: b.SpouseName},
		{Field: match.FieldDOB, Level: "not scored", A: a.DOB, B: b.DOB},
		{Field: match.FieldSex, Level: "not scored", A: a.Sex, B: b.Sex},
		{Field: match.FieldPhone, Level: "not scored", A: a.Phone, B: b.Phone},
	}
}

// handleDecide records a decision and loads the next open task at once.
// A task someone else decided first (two supervisors on the same queue)
// is no error page: the flash says who decided it how, and the next task
// loads as after a decision.
func (c *console) handleDecide(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id", "review task")
	if err != nil {
		return err
	}
	decision := r.PostFormValue("decision")
	if decision != store.DecisionSame && decision != store.DecisionDifferent {
		_, err := c.reg.DecideReview(auditedCtx(r, s), id, decision, s.principal.Name)
		return err // the store's word on a decision it does not know
	}
	// The status alone, before deciding: a decision already made by the
	// same name is a no-op the store does not report.
	before, err := c.reg.ReviewTask(r.Context(), id)
	if err != nil {
		return err
	}
	task := before
	if before.Status == "open" {
		task, err = c.reg.DecideReview(auditedCtx(r, s), id, decision, s.principal.Name)
		if schema.ErrorCode(err) == schema.ECONFLICT {
			task, err = c.reg.ReviewTask(r.Context(), id)
			before.Status = "decided"
		}
		if err != nil {
			return err
		}
	}
	c.leases.release(id)
	if before.Status != "open" || task.DecidedBy != s.principal.Name {
		s.setFlash(fmt.Sprintf("Task %d was already decided (%s) by %s; your decision was not recorded.", id, task.Status, task.DecidedBy))
	} else {
		what := "same person"
		if decision == store.DecisionDifferent {
			what = "different people"
		}
		s.setFlash(fmt.Sprintf("Task %d decided: %s.", id, what))
	}
	c.redirectToNext(w, r, s, id)
	return nil
}

// pathID reads a positive whole number from the path.
func pathID(r *http.Request, name, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, &schema.Error{Code: schema.ENOTFOUND, Field: name, Message: fmt.Sprintf("there is no %s %q", what, r.PathValue(name))}
	}
	return id, nil
}
