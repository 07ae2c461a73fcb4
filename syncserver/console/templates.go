package console

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// pageNames are the templates in templates/, each defining "content"
// for the layout.
var pageNames = []string{"signin", "error", "review", "task", "progress", "print", "job", "people", "person"}

// parsePages parses each page with the layout. User data only ever
// reaches a page through html/template's escaping: no function here
// returns template.HTML.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

var funcs = template.FuncMap{
	"pct":        pct,
	"signed":     signed,
	"num":        func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"evClass":    evClass,
	"weightBar":  weightBar,
	"fieldLabel": fieldLabel,
	"levelLabel": levelLabel,
	"dt":         dt,
	"tm":         tm,
	"ago":        ago,
	"dob":        dob,
	"address":    schema.Address.OneLine,
	"join":       strings.Join,
	"statusText": http.StatusText,
}

// pct writes a probability as a percentage, with a decimal near the ends
// where it matters (99.7% is not 100%).
func pct(p float64) string {
	v := p * 100
	if v > 99 && v < 100 || v > 0 && v < 1 {
		return fmt.Sprintf("%.1f%%", v)
	}
	return fmt.Sprintf("%.0f%%", v)
}

// signed writes a weight with its sign, a true minus sign for negatives.
func signed(w float64) string {
	switch {
	case w > 0.05:
		return fmt.Sprintf("+%.1f", w)
	case w < -0.05:
		return fmt.Sprintf("−%.1f", -w)
	}
	return "0.0"
}

// evClass names how a line of evidence leans: for, against, or neither.
func evClass(w float64) string {
	switch {
	case w > 0.05:
		return "for"
	case w < -0.05:
		return "against"
	}
	return "none"
}

// wbar is a weight drawn as a bar from the middle of a 100-unit box:
// right for, left against, full length at 10 (a thousandfold).
type wbar struct{ X, W float64 }

func weightBar(w float64) wbar {
	l := math.Min(math.Abs(w), 10) * 5
	if w < 0 {
		return wbar{X: 50 - l, W: l}
	}
	return wbar{X: 50, W: l}
}

var fieldLabels = map[string]string{
	"name": "Name", "father": "Father's name", "spouse": "Spouse's name", "dob": "Born",
	"sex": "Sex", "phone": "Phone", "aadhaar": "Aadhaar", "document": "Documents",
	"address": "Address", "household": "Household", "family": "Family (cap)",
}

func fieldLabel(f string) string {
	if l, ok := fieldLabels[f]; ok {
		return l
	}
	return f
}

// levelLabels say the matcher's agreement levels in words.
var levelLabels = map[string]string{
	"exact": "exact", "agree": "agree", "tokens": "same words", "phonetic": "sounds alike", "subset": "part of the other",
	"jw_high": "very similar", "jw_mid": "similar", "disagree": "differ", "missing": "missing on a side",
	"typo": "one slip", "year": "same year", "year_1": "a year apart", "date_differs": "same year, other date",
	"near_5": "within 5 years", "close": "close", "area": "same area", "cap": "family evidence capped",
}

func levelLabel(l string) string {
	if s, ok := levelLabels[l]; ok {
		return s
	}
	return strings.ReplaceAll(l, "_", " ")
}

// dt writes an RFC 3339 time from the registry for a person to read,
// in its own offset.
func dt(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Format("2 Jan 2006 15:04")
}

func tm(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2 Jan 2006 15:04")
}

// ago says how long before now t was, in the largest whole unit.
func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	d := now.Sub(*t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func dob(d, precision string) string {
	switch {
	case d == "":
		return "unknown"
	case precision == schema.PrecisionEstimated:
		return d + " (estimated)"
	}
	return d
}
