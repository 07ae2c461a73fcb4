package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

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
	next, err := c.nextTask(auditedCtx(r, s), after)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if next == 0 {
		s.setFlash("No open review task is left.")
		http.Redirect(w, r, Prefix+"/review", http.StatusSeeOther)
		return
	}
	to := fmt.Sprintf("%s/review/%d", Prefix, next)
	if after > 0 {
		to += fmt.Sprintf("?prev=%d", after)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (c *console) nextTask(ctx context.Context, after int64) (int64, error) {
	tasks, err := c.reg.ReviewTasks(ctx, store.ReviewFilter{Status: "open", Limit: 1, After: after})
	if err != nil {
		return 0, err
	}
	if len(tasks) == 0 && after > 0 {
		// Past the end: tasks skipped on the way are still open.
		if tasks, err = c.reg.ReviewTasks(ctx, store.ReviewFilter{Status: "open", Limit: 2}); err != nil {
			return 0, err
		}
	}
	for _, t := range tasks {
		if t.ID != after {
			return t.ID, nil
		}
	}
	return 0, nil
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
func (c *console) handleDecide(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id", "review task")
	if err != nil {
		return err
	}
	decision := r.PostFormValue("decision")
	if _, err := c.reg.DecideReview(auditedCtx(r, s), id, decision, s.principal.Name); err != nil {
		return err
	}
	what := "same person"
	if decision == store.DecisionDifferent {
		what = "different people"
	}
	s.setFlash(fmt.Sprintf("Task %d decided: %s.", id, what))
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
