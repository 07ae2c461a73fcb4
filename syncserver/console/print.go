package console

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

type queueCentres struct {
	Centre  string // the token's own centre, "" for all
	Centres []centreRow
	Jobs    []store.PrintJob
}

// centreRow is a centre of the queue with its "Make print job" form's
// one-time token.
type centreRow struct {
	store.CentreCards
	Nonce string
}

// nonceField is the form field of a one-time form token.
const nonceField = "nonce"

func (c *console) handlePrintQueue(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	all, err := c.reg.CardCentres(ctx)
	if err != nil {
		return err
	}
	d := queueCentres{Centre: s.principal.Centre}
	for _, cc := range all {
		if mayPrint(s, cc.Centre) {
			row := centreRow{CentreCards: cc}
			if cc.Queued > 0 {
				row.Nonce = s.issueNonce()
			}
			d.Centres = append(d.Centres, row)
		}
	}
	if d.Jobs, err = c.reg.PrintJobs(ctx, s.principal.Centre, 30); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "print", &page{Title: "Print queue", Nav: "print", Session: s, Data: d})
	return nil
}

// mayPrint says whether the print queue lists centre for the session: a
// printer token limited to one centre (token create --centre) sees only
// that one. Acting on another centre is refused by the store itself
// (every call carries the session's reader).
func mayPrint(s *session, centre string) bool {
	return s.principal.Centre == "" || strings.EqualFold(s.principal.Centre, centre)
}

// maxJobCards is the most cards one print job takes (the store's bound).
const maxJobCards = 10000

// handleCreateJob takes the queued cards of a centre into a new job. The
// form's one-time token makes it act once: the same form sent again (a
// double click, a reload) goes to the job the first one made.
func (c *console) handleCreateJob(w http.ResponseWriter, r *http.Request, s *session) error {
	centre := strings.TrimSpace(r.PostFormValue("centre"))
	if centre == "" {
		centre = s.principal.Centre
	}
	if err := store.CheckCentre(auditedCtx(r, s), centre); err != nil {
		return err
	}
	limit := 0
	if v := strings.TrimSpace(r.PostFormValue("limit")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxJobCards {
			return &schema.Error{Code: schema.EINVALID, Field: "limit",
				Message: fmt.Sprintf("The number of cards must be a whole number from 1 to %d, or empty for all the queued cards.", maxJobCards)}
		}
		limit = n
	}
	nonce := r.PostFormValue(nonceField)
	fn, first := s.claimNonce(nonce)
	if fn == nil {
		return schema.Errorf(schema.ECONFLICT, "This form is out of date (it may be from before the server restarted). Reload the print queue and make the job again.")
	}
	if !first {
		select {
		case <-fn.done:
		case <-r.Context().Done():
			return r.Context().Err()
		}
		if fn.err != nil {
			return fn.err
		}
		s.setFlash(fmt.Sprintf("Print job %d was already made by this form; it was not made twice.", fn.result))
		http.Redirect(w, r, fmt.Sprintf("%s/print/jobs/%d", Prefix, fn.result), http.StatusSeeOther)
		return nil
	}
	job, err := c.createJob(r, s, centre, limit)
	s.finishNonce(nonce, fn, job.ID, err)
	if err != nil {
		return err
	}
	s.setFlash(fmt.Sprintf("Print job %d made: %d cards of %s. Download its sheets, print them, then confirm.", job.ID, len(job.Serials), job.Centre))
	http.Redirect(w, r, fmt.Sprintf("%s/print/jobs/%d", Prefix, job.ID), http.StatusSeeOther)
	return nil
}

// createJob makes the job; limit 0 takes all of centre's queued cards,
// up to maxJobCards (the store alone would take its default of 1000).
func (c *console) createJob(r *http.Request, s *session, centre string, limit int) (store.PrintJob, error) {
	ctx := auditedCtx(r, s)
	if limit == 0 {
		all, err := c.reg.CardCentres(ctx)
		if err != nil {
			return store.PrintJob{}, err
		}
		for _, cc := range all {
			if strings.EqualFold(cc.Centre, centre) {
				limit = int(min(cc.Queued, maxJobCards))
			}
		}
		if limit == 0 {
			return store.PrintJob{}, &schema.Error{Code: schema.ENOTFOUND, Field: "centre",
				Message: fmt.Sprintf("No card of centre %s is queued for printing.", centre)}
		}
	}
	return c.reg.CreatePrintJob(ctx, centre, limit, s.principal.Name)
}

// handleOpenJob answers the "open job number" form.
func (c *console) handleOpenJob(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(strings.TrimSpace(r.URL.Query().Get("id")), 10, 64)
	if err != nil || id <= 0 {
		return &schema.Error{Code: schema.EINVALID, Field: "id", Message: "A print job number is a positive whole number."}
	}
	http.Redirect(w, r, fmt.Sprintf("%s/print/jobs/%d", Prefix, id), http.StatusSeeOther)
	return nil
}

// jobOf returns job id if the session may act on it.
func (c *console) jobOf(r *http.Request, s *session) (store.PrintJob, error) {
	id, err := pathID(r, "id", "print job")
	if err != nil {
		return store.PrintJob{}, err
	}
	return c.reg.PrintJob(auditedCtx(r, s), id)
}

type jobData struct {
	Job    store.PrintJob
	Sheets int
}

func (c *console) handleJob(w http.ResponseWriter, r *http.Request, s *session) error {
	job, err := c.jobOf(r, s)
	if err != nil {
		return err
	}
	d := jobData{Job: job, Sheets: (len(job.Serials) + cards.CardsPerSheet - 1) / cards.CardsPerSheet}
	c.render(w, r, http.StatusOK, "job", &page{Title: fmt.Sprintf("Print job %d", job.ID), Nav: "print", Session: s, Data: d})
	return nil
}

// handleJobSheet renders an open job's A4 duplex sheets, as the API's
// sheet.pdf does: whole before the first byte, and an audited read of
// every person on it.
func (c *console) handleJobSheet(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id", "print job")
	if err != nil {
		return err
	}
	job, err := c.reg.PrintJobToRender(auditedCtx(r, s), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := cards.RenderSheet(&buf, job.Cards); err != nil {
		return fmt.Errorf("print job %d: %w", job.ID, err)
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="print-job-%d.pdf"`, job.ID))
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	return nil
}

// handleChangeJob confirms a job printed, cancels it, or marks its
// printed cards dispatched.
func (c *console) handleChangeJob(w http.ResponseWriter, r *http.Request, s *session) error {
	job, err := c.jobOf(r, s)
	if err != nil {
		return err
	}
	ctx, by := auditedCtx(r, s), s.principal.Name
	var msg string
	switch r.PathValue("action") {
	case "confirm":
		_, err = c.reg.ConfirmPrintJob(ctx, job.ID, by)
		msg = "Print job %d confirmed printed."
	case "dispatch":
		err = c.reg.DispatchPrintJob(ctx, job.ID, by)
		msg = "The printed cards of job %d are marked dispatched."
	case "cancel":
		err = c.reg.CancelPrintJob(ctx, job.ID, by)
		msg = "Print job %d cancelled; its cards are back in the queue."
	default:
		return schema.Errorf(schema.ENOTFOUND, "There is no such action on a print job.")
	}
	if err != nil {
		return err
	}
	s.setFlash(fmt.Sprintf(msg, job.ID))
	http.Redirect(w, r, fmt.Sprintf("%s/print/jobs/%d", Prefix, job.ID), http.StatusSeeOther)
	return nil
}
