package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// Page sizes of the review task listing.
const (
	defaultReviewLimit = 100
	maxReviewLimit     = 1000
)

// maxDecisionBytes bounds a decision body: one word.
const maxDecisionBytes = 4 << 10

// reviewPage is one page of review tasks. Next, when set, is the after=
// of the following page.
type reviewPage struct {
	Tasks []store.ReviewTask `json:"tasks"`
	Next  int64              `json:"next,omitempty"`
}

// handleReviewTasks lists review tasks, the most likely matches first:
// ?status=open|same|different|all&limit=N&after=ID.
func (s *Server) handleReviewTasks(c echo.Context) error {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	switch {
	case limit == 0:
		limit = defaultReviewLimit
	case limit > maxReviewLimit:
		return &schema.Error{Code: schema.EINVALID, Field: "limit", Rule: "max", Message: "must be at most 1000"}
	}
	after, err := queryInt(c, "after")
	if err != nil {
		return err
	}
	tasks, err := s.store.ReviewTasks(auditedCtx(c), store.ReviewFilter{
		Status: c.QueryParam("status"), Limit: int(limit), After: after})
	if err != nil {
		return err
	}
	page := reviewPage{Tasks: tasks}
	if len(tasks) == int(limit) {
		page.Next = tasks[len(tasks)-1].ID
	}
	return c.JSON(http.StatusOK, page)
}

// handleReviewTask shows one task: both residents and the evidence.
func (s *Server) handleReviewTask(c echo.Context) error {
	id, err := pathTaskID(c)
	if err != nil {
		return err
	}
	task, err := s.store.ReviewTask(auditedCtx(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, task)
}

// decisionBody is a supervisor's answer to a review task.
type decisionBody struct {
	Decision string `json:"decision"` // same or different
}

// handleDecideReview records the token holder's decision on a task.
func (s *Server) handleDecideReview(c echo.Context) error {
	id, err := pathTaskID(c)
	if err != nil {
		return err
	}
	var body decisionBody
	if _, err := decodeBody(c, &body, maxDecisionBytes, maxDecisionBytes); err != nil {
		return err
	}
	task, err := s.store.DecideReview(auditedCtx(c), id, strings.TrimSpace(body.Decision), principal(c).Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, task)
}

// handleUnmerge undoes a link: :id is a merged person or a linked
// resident.
func (s *Server) handleUnmerge(c echo.Context) error {
	res, err := s.store.Unmerge(c.Request().Context(), c.Param("id"), principal(c).Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func pathTaskID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &schema.Error{Code: schema.EINVALID, Field: "id", Rule: "integer",
			Message: "a review task id is a positive whole number"}
	}
	return id, nil
}
