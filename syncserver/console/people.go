package console

import (
	"net/http"
	"strings"

	"github.com/doorstep-health/doorstep/syncserver/store"
)

// searchLimit is how many persons a search lists.
const searchLimit = 50

type peopleData struct {
	Query   string
	Results []store.PersonSummary
	Error   string
	Limit   int
}

// handlePeople finds persons by health ID or name. The store audits what
// it returns.
func (c *console) handlePeople(w http.ResponseWriter, r *http.Request, s *session) error {
	d := peopleData{Query: strings.TrimSpace(r.URL.Query().Get("q")), Limit: searchLimit}
	if d.Query != "" {
		res, err := c.reg.SearchPersons(auditedCtx(r, s), d.Query, searchLimit)
		if err != nil {
			d.Error = c.partError("search persons", err)
		}
		d.Results = res
	}
	c.render(w, r, http.StatusOK, "people", &page{Title: "People", Nav: "people", Session: s, Data: d})
	return nil
}

// handlePerson shows a person's enrolments, card history and the audit
// trail of who read the record, this read included.
func (c *console) handlePerson(w http.ResponseWriter, r *http.Request, s *session) error {
	detail, err := c.reg.PersonDetail(auditedCtx(r, s), r.PathValue("hid"))
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "person", &page{Title: "Person " + detail.Person.HealthID, Nav: "people", Session: s, Data: detail})
	return nil
}
