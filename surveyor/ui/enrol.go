package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// formPage is the enrol and edit page's data.
type formPage struct {
	Form       householdForm
	Action     string
	Edit       bool
	Errors     map[string][]string // form field → messages
	General    []string            // broken rules with no field on the form
	Notes      map[int]string      // member row → how its date of birth was read
	Lookalikes []lookalikeView
	Drafts     []draftView // unsaved forms offered back
	Restored   *draftView  // the draft this page was filled from
	Notice     string      // a note at the top of the page
	Rejections []string    // the server's reasons, for an edit
	Relations  []string
	Outcomes   []string

	p *page
}

// Err is the messages for one field, one line.
func (d *formPage) Err(field string) string { return strings.Join(d.Errors[field], " ") }

// Bad says the field breaks a rule (for aria-invalid).
func (d *formPage) Bad(field string) bool { return len(d.Errors[field]) > 0 }

// memberRow is one member row for the "member" template; Index is a
// number, or __i__ in the row the script copies for a new member.
type memberRow struct {
	Index string
	Num   string
	M     memberForm
	Note  string
	D     *formPage
	P     *page
}

func (r memberRow) path(field string) string { return "members[" + r.Index + "]." + field }

// Name is the input name (and error path) of the row's field.
func (r memberRow) Name(field string) string { return r.path(field) }

// ID is the element id of the row's field.
func (r memberRow) ID(field string) string { return "m" + r.Index + "-" + field }

// Err is the messages for the row's field.
func (r memberRow) Err(field string) string { return r.D.Err(r.path(field)) }

// Bad says the row's field breaks a rule.
func (r memberRow) Bad(field string) bool { return r.D.Bad(r.path(field)) }

// Rows are the member rows, numbered from 0.
func (d *formPage) Rows() []memberRow {
	rows := make([]memberRow, len(d.Form.Members))
	for i, m := range d.Form.Members {
		rows[i] = memberRow{Index: strconv.Itoa(i), Num: strconv.Itoa(i + 1), M: m, Note: d.Notes[i], D: d, P: d.p}
	}
	return rows
}

// Blank is the row the script copies when the worker adds a member.
func (d *formPage) Blank() memberRow {
	return memberRow{Index: "__i__", Num: "__n__", D: d, P: d.p}
}

type lookalikeView struct {
	Row                                int
	Member, Name, DOB, Address, Reason string
	HouseholdID                        string
}

type draftView struct {
	ID, HouseholdID, Summary, At string
	Aadhaar                      []string // last 4 digits of numbers to type again
}

var draftIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// newForm is an empty form for a new household: its ids are made now, so
// saving it twice (a double click, a retry) cannot make two households.
func newForm(area string) householdForm {
	return householdForm{ID: schema.NewID(), DraftID: schema.NewID(), Area: area, Outcome: schema.OutcomeEnrolled,
		Members: []memberForm{{Relation: "head"}}}
}

func (s *Server) handleEnrolForm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	reg, err := s.lap.Registration(ctx)
	if err != nil {
		return err
	}
	d := &formPage{Action: "/enrol"}
	dr, f, ok, err := s.requestedDraft(r, d)
	if err != nil {
		return err
	}
	if ok {
		if dr.HouseholdID != "" {
			http.Redirect(w, r, "/households/"+url.PathEscape(dr.HouseholdID)+"/edit?draft="+url.QueryEscape(dr.ID), http.StatusSeeOther)
			return nil
		}
		d.Form = f
		d.Restored = s.draftView(dr, f)
	} else {
		d.Form = newForm(reg.Area)
		d.Drafts = s.offeredDrafts(ctx, "")
	}
	s.renderForm(w, r, http.StatusOK, d, nil)
	return nil
}

func (s *Server) handleEditForm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v, err := s.lap.Household(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := &formPage{Action: "/households/" + url.PathEscape(v.ID), Edit: true}
	dr, f, ok, err := s.requestedDraft(r, d)
	if err != nil {
		return err
	}
	if ok {
		if dr.HouseholdID != v.ID {
			return schema.Errorf(schema.ENOTFOUND, "draft %s is not an edit of household %s", dr.ID, v.ID)
		}
		d.Form = f
		d.Form.ID = v.ID
		d.Restored = s.draftView(dr, f)
	} else {
		d.Form = formFromView(v)
		d.Form.DraftID = schema.NewID()
		d.Drafts = s.offeredDrafts(ctx, v.ID)
	}
	s.renderForm(w, r, http.StatusOK, d, v)
	return nil
}

// requestedDraft loads the draft the form page's ?draft= names; ok is
// false when it names none. A draft that is gone (back after a save, or
// discarded in another tab) gives a fresh form, with a word about it.
func (s *Server) requestedDraft(r *http.Request, d *formPage) (dr surveyor.Draft, f householdForm, ok bool, err error) {
	id := r.URL.Query().Get("draft")
	if id == "" {
		return dr, f, false, nil
	}
	dr, f, err = s.loadDraft(r.Context(), id)
	if schema.ErrorCode(err) == schema.ENOTFOUND {
		d.Notice = s.cat.messages(s.lang(r))["draft.gone"]
		return dr, f, false, nil
	}
	return dr, f, err == nil, err
}

func (s *Server) loadDraft(ctx context.Context, id string) (surveyor.Draft, householdForm, error) {
	dr, err := s.lap.Draft(ctx, id)
	if err != nil {
		return dr, householdForm{}, err
	}
	var f householdForm
	if err := json.Unmarshal([]byte(dr.Form), &f); err != nil {
		return dr, f, fmt.Errorf("draft %s: %w", id, err)
	}
	f.DraftID = dr.ID
	if len(f.Members) == 0 {
		f.Members = []memberForm{{Relation: "head"}}
	}
	return dr, f, nil
}

// offeredDrafts lists the drafts of new households (hid "") or of the
// edit of household hid, newest first. A store that cannot list them
// offers none: the form still works.
func (s *Server) offeredDrafts(ctx context.Context, hid string) []draftView {
	ds, err := s.lap.Drafts(ctx)
	if err != nil {
		s.logger.Warn("survey form: list drafts", "err", err)
		return nil
	}
	var out []draftView
	for _, dr := range ds {
		if dr.HouseholdID != hid {
			continue
		}
		var f householdForm
		if json.Unmarshal([]byte(dr.Form), &f) != nil {
			continue
		}
		out = append(out, *s.draftView(dr, f))
	}
	return out
}

func (s *Server) draftView(dr surveyor.Draft, f householdForm) *draftView {
	v := &draftView{ID: dr.ID, HouseholdID: dr.HouseholdID, At: dr.UpdatedAt.Local().Format("2 Jan 15:04")}
	var names []string
	for _, m := range f.Members {
		if m.Name != "" {
			names = append(names, m.Name)
		}
		if m.AadhaarLast4 != "" && (m.ID == "" || m.AadhaarChanged) {
			v.Aadhaar = append(v.Aadhaar, m.AadhaarLast4)
		}
	}
	v.Summary = schema.JoinNonEmpty(", ", f.Line1, f.Locality)
	if len(names) > 0 {
		v.Summary = strings.Join(names, ", ") + " · " + v.Summary
	}
	return v
}

// renderForm shows the form with errs placed at their fields.
func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, status int, d *formPage, stored *surveyor.HouseholdView) {
	p := &page{Title: "title.enrol", Nav: "enrol", Data: d}
	if d.Edit {
		p.Title, p.Nav = "title.edit", "list"
	}
	p.Lang = s.lang(r)
	p.msgs = s.cat.messages(p.Lang)
	d.p = p
	p.Flash = d.Notice
	d.Relations, d.Outcomes = schema.Relations, schema.Outcomes
	if d.Errors == nil {
		d.Errors = map[string][]string{}
	}
	if stored != nil {
		if rj := stored.Rejection; rj != nil {
			d.Rejections = append(d.Rejections, rejectionText(p.msgs, *rj))
		}
		for _, m := range stored.Members {
			if rj := m.Rejection; rj != nil {
				d.Rejections = append(d.Rejections, m.Name+": "+rejectionText(p.msgs, *rj))
			}
		}
	}
	// The notes say how each date of birth was read.
	if d.Notes == nil {
		c, _ := d.Form.check(stored, s.now())
		d.Notes = map[int]string{}
		for i := range d.Form.Members {
			if n := dobNote(p.msgs, c, i); n != "" {
				d.Notes[i] = n
			}
		}
	}
	s.net.fill(p, s, s.waiting(r.Context()))
	s.render(w, r, status, "form", p)
}

// placeErrors files broken rules under their form fields, in the page's
// words. rows relabels member indices (nil: as they are).
func placeErrors(msgs map[string]string, d *formPage, errs schema.ValidationErrors) {
	d.Errors = map[string][]string{}
	for _, e := range errs {
		field := fieldOf(e.Field)
		msg := message(msgs, e)
		if fieldKnown(field, len(d.Form.Members)) {
			d.Errors[field] = append(d.Errors[field], msg)
		} else {
			d.General = append(d.General, msg)
		}
	}
}

// fieldKnown says the form shows the field, so its error can sit beside it.
func fieldKnown(field string, members int) bool {
	switch field {
	case "area", "address.line1", "address.line2", "address.locality", "address.city", "address.pincode",
		"gps", "outcome", "consent.given", "members":
		return true
	}
	m := memberField.FindStringSubmatch(field)
	if m == nil {
		return false
	}
	i, _ := strconv.Atoi(m[1])
	return i < members && slices.Contains([]string{"relation", "name", "sex", "dob", "age", "father_name",
		"spouse_name", "phone", "aadhaar"}, m[2])
}

// message is a broken rule in plain words: the field's label, then the
// rule in the page's language (the schema's English words when the
// catalogue has none for it).
func message(msgs map[string]string, e *schema.Error) string {
	label := msgs[fieldLabel(fieldOf(e.Field))]
	if label == "" {
		label = e.Field
	}
	text := e.Message
	if t, ok := msgs["rule."+e.Rule]; ok {
		text = t
	}
	return label + " " + text
}

func rejectionText(msgs map[string]string, r surveyor.Rejection) string {
	e := &schema.Error{Field: r.Field, Rule: r.Code, Message: r.Message}
	if r.Field == "" {
		return r.Message + " (" + r.Code + ")"
	}
	return message(msgs, e) + " (" + r.Code + ")"
}

func (s *Server) handleEnrolPost(w http.ResponseWriter, r *http.Request) error {
	f, _ := parseForm(r.PostForm)
	return s.saveForm(w, r, f, nil)
}

func (s *Server) handleEditPost(w http.ResponseWriter, r *http.Request) error {
	v, err := s.lap.Household(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	f, _ := parseForm(r.PostForm)
	f.ID = v.ID
	return s.saveForm(w, r, f, v)
}

// saveForm saves the posted household: a new one (stored nil) with
// SaveHousehold, an edit with UpdateHousehold, which sends it as a new
// version. Broken rules show the form again with everything typed; members
// who look like someone already enrolled show a warning the worker
// confirms first.
func (s *Server) saveForm(w http.ResponseWriter, r *http.Request, f householdForm, stored *surveyor.HouseholdView) error {
	ctx := r.Context()
	d := &formPage{Form: f, Action: "/enrol", Edit: stored != nil}
	if stored != nil {
		d.Action = "/households/" + url.PathEscape(stored.ID)
	}
	action := r.PostFormValue("action")
	switch {
	case action == "add":
		// Enter without the script: one more member row.
		d.Form.Members = append(d.Form.Members, memberForm{})
		s.renderForm(w, r, http.StatusOK, d, stored)
		return nil
	case strings.HasPrefix(action, "remove-"):
		if i, err := strconv.Atoi(strings.TrimPrefix(action, "remove-")); err == nil && i >= 0 && i < len(d.Form.Members) {
			d.Form.Members = slices.Delete(d.Form.Members, i, i+1)
		}
		s.renderForm(w, r, http.StatusOK, d, stored)
		return nil
	}
	if f.ID == "" {
		f.ID = schema.NewID()
		d.Form.ID = f.ID
	}
	msgs := s.cat.messages(s.lang(r))
	c, errs := f.check(stored, s.now())
	if len(errs) > 0 {
		placeErrors(msgs, d, errs)
		s.renderForm(w, r, http.StatusUnprocessableEntity, d, stored)
		return nil
	}
	if r.PostFormValue("confirm") != "lookalikes" {
		if looks := s.lookalikes(ctx, c, f); len(looks) > 0 {
			d.Lookalikes = looks
			s.renderForm(w, r, http.StatusOK, d, stored)
			return nil
		}
	}
	h, _ := f.household(stored)
	var err error
	changed := 0
	if stored == nil {
		err = s.lap.SaveHousehold(ctx, h)
	} else {
		changed, err = s.lap.UpdateHousehold(ctx, h)
	}
	var ve schema.ValidationErrors
	switch {
	case errors.As(err, &ve):
		placeErrors(msgs, d, ve)
		s.renderForm(w, r, http.StatusUnprocessableEntity, d, stored)
		return nil
	case stored == nil && schema.ErrorCode(err) == schema.ECONFLICT && err != nil:
		// Saved already: a second click, the answer to the first was
		// lost, or a draft of the saved form continued. What was typed is
		// an edit of the saved household: the same answers change
		// nothing, different ones are a new version, never dropped.
		v, gerr := s.lap.Household(ctx, f.ID)
		if gerr != nil {
			return err
		}
		return s.saveAsEdit(w, r, f, v)
	case err != nil:
		return err
	}
	s.forgetDraft(ctx, f.DraftID)
	s.search.forget(h.ID)
	s.lists.forget()
	q := url.Values{"saved": {h.ID}}
	if stored != nil {
		changed = s.submitted.note(f.DraftID, h.ID, changed)
		q = url.Values{"edited": {h.ID}, "changed": {strconv.Itoa(changed)}}
	}
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// saveAsEdit saves a new household's form whose id is already saved as an
// edit of that household: its rows are the saved members in order (the
// form made them). The same answers change nothing and say "saved";
// different ones are a new version and say what changed.
func (s *Server) saveAsEdit(w http.ResponseWriter, r *http.Request, f householdForm, v *surveyor.HouseholdView) error {
	ctx := r.Context()
	f.Members = slices.Clone(f.Members)
	for i := range f.Members {
		if f.Members[i].ID == "" && i < len(v.Members) {
			f.Members[i].ID = v.Members[i].ID
		}
	}
	d := &formPage{Form: f, Action: "/households/" + url.PathEscape(v.ID), Edit: true}
	msgs := s.cat.messages(s.lang(r))
	h, errs := f.household(v)
	changed := 0
	var err error
	if len(errs) == 0 {
		changed, err = s.lap.UpdateHousehold(ctx, h)
	}
	var ve schema.ValidationErrors
	if errors.As(err, &ve) {
		errs = append(errs, ve...)
	} else if err != nil {
		return err
	}
	if len(errs) > 0 {
		placeErrors(msgs, d, errs)
		d.Notice = msgs["form.already_saved"]
		s.renderForm(w, r, http.StatusConflict, d, v)
		return nil
	}
	s.forgetDraft(ctx, f.DraftID)
	s.search.forget(v.ID)
	s.lists.forget()
	q := url.Values{"saved": {v.ID}}
	if changed > 0 {
		q = url.Values{"edited": {v.ID}, "changed": {strconv.Itoa(changed)}}
	}
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// submittedForms remembers the edit forms saved lately (by their draft
// id, made for each page), so the same form sent twice (a double click,
// a resend) says it was saved, not that nothing changed.
type submittedForms struct {
	mu   sync.Mutex
	seen map[string]submittedForm
}

type submittedForm struct {
	household string
	changed   int
}

// note records a save of form id of household hid that changed records,
// and returns what to report: a repeat that changed nothing reports the
// first save's changes.
func (sf *submittedForms) note(id, hid string, changed int) int {
	if id == "" {
		return changed
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if prev, ok := sf.seen[id]; ok && prev.household == hid && changed == 0 {
		return prev.changed
	}
	if changed == 0 {
		return 0
	}
	if sf.seen == nil || len(sf.seen) > 1000 {
		sf.seen = map[string]submittedForm{}
	}
	sf.seen[id] = submittedForm{household: hid, changed: changed}
	return changed
}

func (s *Server) forgetDraft(ctx context.Context, id string) {
	if id == "" {
		return
	}
	if err := s.lap.DeleteDraft(ctx, id); err != nil && schema.ErrorCode(err) != schema.ENOTFOUND {
		s.logger.Warn("survey form: delete the saved household's draft", "draft", id, "err", err)
	}
}

// lookalikes asks the store which members look like someone already
// enrolled, other than the household itself. A store that cannot tell
// does not stop the save: the server's matcher still looks.
func (s *Server) lookalikes(ctx context.Context, c *schema.Household, f householdForm) []lookalikeView {
	looks, err := s.lap.Lookalikes(ctx, c)
	if err != nil {
		s.logger.Warn("survey form: look for lookalikes", "err", err)
		return nil
	}
	var out []lookalikeView
	for _, l := range looks {
		if l.HouseholdID == c.ID || l.Member < 0 || l.Member >= len(f.Members) {
			continue
		}
		out = append(out, lookalikeView{Row: l.Member, Member: f.Members[l.Member].Name, Name: l.Name, DOB: l.DOB,
			Address: l.Address, Reason: l.Reason, HouseholdID: l.HouseholdID})
	}
	return out
}

// validateAnswer is what the page's script gets back for a form.
type validateAnswer struct {
	Errors []fieldError      `json:"errors"`
	Notes  map[string]string `json:"notes"`
}

type fieldError struct {
	Field   string `json:"field"` // the form field to show it at
	Path    string `json:"path"`  // the schema's path, members numbered as the form's rows
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// handleValidate runs the schema's rules on the posted form: the page's
// script asks as the worker types, so the rules live only in schema.
func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) error {
	f, rows := parseForm(r.PostForm)
	var stored *surveyor.HouseholdView
	if r.PostFormValue("mode") == "edit" && f.ID != "" {
		v, err := s.lap.Household(r.Context(), f.ID)
		if err != nil && schema.ErrorCode(err) != schema.ENOTFOUND {
			return err
		}
		stored = v
	}
	msgs := s.cat.messages(s.lang(r))
	c, errs := f.check(stored, s.now())
	ans := validateAnswer{Errors: []fieldError{}, Notes: map[string]string{}}
	for _, e := range errs {
		path := relabel(e.Field, rows)
		ans.Errors = append(ans.Errors, fieldError{Field: fieldOf(path), Path: path, Rule: e.Rule, Message: message(msgs, e)})
	}
	for i, row := range rows {
		if n := dobNote(msgs, c, i); n != "" {
			ans.Notes[fmt.Sprintf("members[%d].dob", row)] = n
		}
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// handleSaveDraft keeps the form as typed, without Aadhaar numbers.
func (s *Server) handleSaveDraft(w http.ResponseWriter, r *http.Request) error {
	f, _ := parseForm(r.PostForm)
	if !draftIDPattern.MatchString(f.DraftID) {
		return &schema.Error{Code: schema.EINVALID, Field: "draft_id", Rule: "id_format", Message: "must be 1 to 64 letters, digits, - or _"}
	}
	d := surveyor.Draft{ID: f.DraftID, Form: f.draftJSON(), UpdatedAt: s.now()}
	if r.PostFormValue("mode") == "edit" {
		d.HouseholdID = f.ID
	} else if f.ID != "" {
		// A late autosave of a form already saved must not bring its
		// draft back: continuing it would save the household again.
		if _, err := s.lap.Household(r.Context(), f.ID); err == nil {
			return schema.Errorf(schema.ECONFLICT, "household %s is saved already; open it from the list to change it", f.ID)
		} else if schema.ErrorCode(err) != schema.ENOTFOUND {
			return err
		}
	}
	if err := s.lap.SaveDraft(r.Context(), d); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": d.ID, "saved_at": d.UpdatedAt.Local().Format("15:04:05")})
	return nil
}

func (s *Server) handleDiscardDraft(w http.ResponseWriter, r *http.Request) error {
	if err := s.lap.DeleteDraft(r.Context(), r.PathValue("id")); err != nil && schema.ErrorCode(err) != schema.ENOTFOUND {
		return err
	}
	back := localPath(r.PostFormValue("back"), "/enrol")
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// handlePlaces offers localities and pincodes starting with q.
func (s *Server) handlePlaces(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	places := []surveyor.Place{}
	if q != "" && len(q) <= 100 {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		ps, err := s.lap.Places(ctx, q, 12)
		if err != nil {
			s.logger.Warn("survey form: places", "err", err)
		} else if ps != nil {
			places = ps
		}
	}
	writeJSON(w, http.StatusOK, places)
	return nil
}
