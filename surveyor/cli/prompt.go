package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// errInputEnded stops an interactive form whose input ran out.
var errInputEnded = errors.New("input ended before the household was complete; nothing was saved")

// errQuit is the worker choosing to leave without saving.
var errQuit = errors.New("left without saving")

// form asks for a household field by field. Each answer is checked at
// once by running schema's validation on a copy of the household with the
// answer in place and keeping the errors for that field's path, so the
// rules live only in schema and the worker fixes a mistake while still at
// the door.
type form struct {
	ctx  context.Context
	in   *bufio.Reader
	out  io.Writer
	now  time.Time
	edit bool // Enter keeps the current value, - clears an optional one
	// newline ends each prompt's line after the answer is read, when no
	// terminal echoes the Enter.
	newline bool
}

func newForm(ctx context.Context, io IOStreams, now time.Time, edit bool) *form {
	return &form{ctx: ctx, in: bufio.NewReader(io.In), out: io.ErrOut, now: now, edit: edit, newline: !io.InTerminal}
}

// question is one field to ask.
type question struct {
	label    string
	def      string   // shown in brackets; Enter takes it
	keep     bool     // Enter leaves the field as it is instead of setting def
	optional bool     // an empty answer is fine
	paths    []string // field paths whose rules judge the answer
	// newHouseholdRules also judges the answer by household-wide rules
	// (members) that it alone breaks, like a second head.
	newHouseholdRules bool
	set               func(h *schema.Household, answer string)
}

// readLine prints a prompt and reads one answer, trimmed. Ctrl-C stops it
// even while the read waits for the worker.
func (f *form) readLine(prompt string) (string, error) {
	fmt.Fprint(f.out, prompt)
	type answer struct {
		s   string
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		s, err := f.in.ReadString('\n')
		ch <- answer{s, err}
	}()
	var s string
	var err error
	select {
	case <-f.ctx.Done():
		fmt.Fprintln(f.out)
		return "", fmt.Errorf("stopped; nothing was saved: %w", f.ctx.Err())
	case a := <-ch:
		s, err = a.s, a.err
	}
	if f.newline || err != nil {
		fmt.Fprintln(f.out)
	}
	if err != nil && (!errors.Is(err, io.EOF) || s == "") {
		return "", errInputEnded
	}
	return strings.TrimSpace(s), nil
}

// ask asks q until the answer passes its rules, then sets it in h.
func (f *form) ask(h *schema.Household, q question) error {
	prompt := q.label
	switch {
	case q.def != "":
		prompt += " [" + q.def + "]"
	case q.optional && !f.edit:
		prompt += " (Enter to skip)"
	}
	if q.optional && f.edit && q.def != "" {
		prompt += " (- clears)"
	}
	prompt += ": "
	for {
		answer, err := f.readLine(prompt)
		if err != nil {
			return err
		}
		if answer == "" && q.def != "" {
			if q.keep {
				return nil
			}
			answer = q.def
		}
		if answer == "-" && q.optional {
			answer = ""
		}
		trial := clone(h)
		q.set(trial, answer)
		errs := f.fieldErrors(h, trial, q)
		if len(errs) == 0 {
			q.set(h, answer)
			return nil
		}
		for _, e := range errs {
			fmt.Fprintf(f.out, "  ! %s\n", describe(e))
		}
	}
}

// fieldErrors returns the broken rules of trial that belong to q.
func (f *form) fieldErrors(before, trial *schema.Household, q question) []*schema.Error {
	var out []*schema.Error
	errs := f.validate(trial)
	var old []string
	if q.newHouseholdRules {
		for _, e := range f.validate(before) {
			if e.Field == "members" {
				old = append(old, e.Message)
			}
		}
	}
	for _, e := range errs {
		switch {
		case slices.Contains(q.paths, e.Field):
			out = append(out, e)
		case q.newHouseholdRules && e.Field == "members" && !slices.Contains(old, e.Message):
			out = append(out, e)
		}
	}
	return out
}

// validate runs schema's rules on a normalised copy, as SaveHousehold will.
func (f *form) validate(h *schema.Household) schema.ValidationErrors {
	c := clone(h)
	c.Normalize(f.now)
	var ve schema.ValidationErrors
	errors.As(c.Validate(f.now), &ve)
	return ve
}

// yesNo asks a yes/no question until it gets one.
func (f *form) yesNo(label string, def bool) (bool, error) {
	hint := "[y/N]"
	if def {
		hint = "[Y/n]"
	}
	for {
		a, err := f.readLine(label + " " + hint + ": ")
		if err != nil {
			return false, err
		}
		switch strings.ToLower(a) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintln(f.out, "  ! answer y or n")
	}
}

func clone(h *schema.Household) *schema.Household {
	b, _ := json.Marshal(h) // a Household always encodes
	var c schema.Household
	json.Unmarshal(b, &c)
	return &c
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// householdQuestions asks the household's own fields.
func (f *form) householdQuestions(h *schema.Household, area string) error {
	keep := f.edit
	qs := []question{
		{label: "survey area code", def: orDefault(h.Area, area), keep: keep && h.Area != "", paths: []string{"area"},
			set: func(h *schema.Household, a string) { h.Area = a }},
		{label: "address: house and street", def: h.Address.Line1, keep: keep, paths: []string{"address.line1"},
			set: func(h *schema.Household, a string) { h.Address.Line1 = a }},
		{label: "address: landmark or second line", def: h.Address.Line2, keep: keep, optional: true, paths: []string{"address.line2"},
			set: func(h *schema.Household, a string) { h.Address.Line2 = a }},
		{label: "address: locality", def: h.Address.Locality, keep: keep, paths: []string{"address.locality"},
			set: func(h *schema.Household, a string) { h.Address.Locality = a }},
		{label: "address: city or village", def: h.Address.City, keep: keep, paths: []string{"address.city"},
			set: func(h *schema.Household, a string) { h.Address.City = a }},
		{label: "address: pincode", def: h.Address.Pincode, keep: keep, paths: []string{"address.pincode"},
			set: func(h *schema.Household, a string) { h.Address.Pincode = a }},
	}
	for _, q := range qs {
		if err := f.ask(h, q); err != nil {
			return err
		}
	}
	return f.outcomeAndConsent(h)
}

// outcomeAndConsent asks what happened at the door, and for consent when
// the household enrols. Refusing consent while enrolling breaks a rule that
// only a different outcome fixes, so that answer leads back to the outcome.
func (f *form) outcomeAndConsent(h *schema.Household) error {
	for {
		err := f.ask(h, question{label: "outcome (" + strings.Join(schema.Outcomes, ", ") + ")",
			def: orDefault(h.Outcome, schema.OutcomeEnrolled), keep: f.edit && h.Outcome != "", paths: []string{"outcome"},
			set: func(h *schema.Household, a string) { h.Outcome = strings.ToLower(a) }})
		if err != nil {
			return err
		}
		if h.Outcome != schema.OutcomeEnrolled {
			h.Consent = schema.Consent{}
			return nil
		}
		given, err := f.yesNo("does the household consent to enrolment?", f.edit && h.Consent.Given)
		if err != nil {
			return err
		}
		trial := clone(h)
		trial.Consent.Given = given
		errs := f.fieldErrors(h, trial, question{paths: []string{"consent.given"}})
		if len(errs) == 0 {
			if given != h.Consent.Given {
				h.Consent = schema.Consent{Given: given}
			}
			return nil
		}
		for _, e := range errs {
			fmt.Fprintf(f.out, "  ! %s\n", describe(e))
		}
		fmt.Fprintf(f.out, "  without consent the outcome is %s or %s\n", schema.OutcomeRefused, schema.OutcomeRevisit)
		h.Outcome = ""
	}
}

// memberQuestions asks every field of member i.
func (f *form) memberQuestions(h *schema.Household, i int) error {
	m := &h.Members[i]
	p := fmt.Sprintf("members[%d].", i)
	keep := f.edit
	fmt.Fprintf(f.out, "member %d\n", i+1)
	relDef := m.Relation
	if relDef == "" && i == 0 {
		relDef = "head"
	}
	dobDef := m.DOB
	if m.DOBPrecision == schema.PrecisionEstimated && dobDef != "" {
		dobDef += " (estimated)"
	}
	aadhaarDef := ""
	if m.AadhaarLast4 != "" {
		aadhaarDef = "****" + m.AadhaarLast4
	}
	member := func(h *schema.Household) *schema.Resident { return &h.Members[i] }
	qs := []question{
		{label: "  name", def: m.Name, keep: keep, paths: []string{p + "name"},
			set: func(h *schema.Household, a string) { member(h).Name = a }},
		{label: "  sex (M, F, O)", def: m.Sex, keep: keep, paths: []string{p + "sex"},
			set: func(h *schema.Household, a string) { member(h).Sex = a }},
		{label: "  date of birth (YYYY-MM-DD, or the year YYYY, or the age like 45y)", def: dobDef, keep: keep,
			paths: []string{p + "dob", p + "dob_precision"},
			set:   func(h *schema.Household, a string) { setDOB(member(h), a) }},
		{label: "  relation to head (" + strings.Join(schema.Relations[:6], ", ") + ", …, other)", def: relDef, keep: keep && m.Relation != "",
			paths: []string{p + "relation"}, newHouseholdRules: !f.edit,
			set: func(h *schema.Household, a string) { member(h).Relation = strings.ToLower(a) }},
		{label: "  father's name", def: m.FatherName, keep: keep, optional: true, paths: []string{p + "father_name"},
			set: func(h *schema.Household, a string) { member(h).FatherName = a }},
		{label: "  spouse's name", def: m.SpouseName, keep: keep, optional: true, paths: []string{p + "spouse_name"},
			set: func(h *schema.Household, a string) { member(h).SpouseName = a }},
		{label: "  mobile number", def: m.Phone, keep: keep, optional: true, paths: []string{p + "phone"},
			set: func(h *schema.Household, a string) { member(h).Phone = a }},
		{label: "  Aadhaar number", def: aadhaarDef, keep: keep, optional: true, paths: []string{p + "aadhaar"},
			set: func(h *schema.Household, a string) {
				r := member(h)
				r.Aadhaar, r.AadhaarHash, r.AadhaarLast4 = a, "", ""
			}},
	}
	for _, q := range qs {
		if err := f.ask(h, q); err != nil {
			return err
		}
	}
	return nil
}

// setDOB reads a date of birth as workers write it: YYYY-MM-DD, a year,
// or a stated age (45, 45y, 45 years, age 45), which schema turns into an
// estimated year.
func setDOB(m *schema.Resident, answer string) {
	a := strings.ToLower(strings.TrimSpace(answer))
	age, isAge := strings.CutPrefix(a, "age")
	for _, suffix := range []string{"years", "year", "yrs", "yr", "y"} {
		if s, ok := strings.CutSuffix(age, suffix); ok {
			age, isAge = s, true
			break
		}
	}
	age = strings.TrimSpace(age)
	if n, err := strconv.Atoi(age); err == nil && n >= 0 && (isAge || len(age) <= 3) {
		m.DOB, m.DOBPrecision, m.Age = "", "", &n
		return
	}
	m.DOB, m.DOBPrecision, m.Age = strings.TrimSpace(answer), "", nil
}

// members asks for members until the worker has no more to add.
func (f *form) addMembers(h *schema.Household) error {
	for {
		if len(h.Members) > 0 {
			more, err := f.yesNo("add another member?", false)
			if err != nil || !more {
				return err
			}
		}
		h.Members = append(h.Members, schema.Resident{})
		if err := f.memberQuestions(h, len(h.Members)-1); err != nil {
			return err
		}
	}
}

// fix shows what still breaks a rule in the whole household and lets the
// worker re-enter a part of it, until it is valid or they quit.
func (f *form) fix(h *schema.Household, area string) error {
	for {
		errs := f.validate(h)
		if len(errs) == 0 {
			return nil
		}
		fmt.Fprintln(f.out, "the household cannot be saved yet:")
		for _, e := range errs {
			fmt.Fprintf(f.out, "  ! %s\n", describe(e))
		}
		a, err := f.readLine(fmt.Sprintf("re-enter: h for the household details, 1-%d for a member, a to add a member, r N to remove member N, q to quit without saving: ", len(h.Members)))
		if err != nil {
			return err
		}
		wasEdit := f.edit
		f.edit = true // re-entering: Enter keeps what is there
		switch {
		case a == "q":
			err = errQuit
		case a == "h":
			err = f.householdQuestions(h, area)
		case a == "a":
			h.Members = append(h.Members, schema.Resident{})
			f.edit = false
			err = f.memberQuestions(h, len(h.Members)-1)
		case strings.HasPrefix(a, "r "):
			n, convErr := strconv.Atoi(strings.TrimSpace(a[2:]))
			if convErr != nil || n < 1 || n > len(h.Members) {
				fmt.Fprintf(f.out, "  ! no member %s\n", strings.TrimSpace(a[2:]))
			} else {
				h.Members = slices.Delete(h.Members, n-1, n)
			}
		default:
			n, convErr := strconv.Atoi(a)
			if convErr != nil || n < 1 || n > len(h.Members) {
				fmt.Fprintf(f.out, "  ! answer h, a member number, a, r N or q\n")
			} else {
				err = f.memberQuestions(h, n-1)
			}
		}
		f.edit = wasEdit
		if err != nil {
			return err
		}
	}
}
