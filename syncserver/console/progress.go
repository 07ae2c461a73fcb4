package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// chartDays is how far back the enrolment chart looks.
const chartDays = 30

type progressData struct {
	Stats    store.Stats
	Progress store.Progress
	// ProgressError and ChartError say why a part is missing; the rest
	// of the page still shows.
	ProgressError string
	Chart         chart
	ChartError    string
	Now           time.Time
}

func (c *console) handleProgress(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	st, err := c.reg.Stats(ctx)
	if err != nil {
		return err
	}
	d := progressData{Stats: st, Now: c.opts.now()}
	if d.Progress, err = c.reg.Progress(ctx); err != nil {
		d.ProgressError = c.partError("progress", err)
	}
	days, err := c.reg.EnrolmentsPerDay(ctx, chartDays)
	if err != nil {
		d.ChartError = c.partError("enrolments per day", err)
	} else {
		d.Chart = newChart(days)
	}
	c.render(w, r, http.StatusOK, "progress", &page{Title: "Progress", Nav: "progress", Session: s, Data: d})
	return nil
}

// partError says in a line why one part of a page is missing; a failure
// of ours goes to the log too.
func (c *console) partError(part string, err error) string {
	var se *schema.Error
	switch {
	case schema.ErrorCode(err) == schema.EINTERNAL:
		c.logger.Error("console: "+part, "err", err)
		return "This part could not be read; the details are in the server's log."
	case errors.As(err, &se):
		return se.Message
	}
	return schema.ErrorMessage(err)
}

// chart is a bar chart of enrolments per day, drawn on the server as SVG:
// no script, no style attribute, only shapes the stylesheet colours.
type chart struct {
	Width, Height int
	Left, Bottom  int // plot area's left and bottom edges
	Bars          []bar
	Ticks         []tick
	Max           int64
	Total         int64
	Days          int
}

type bar struct {
	X, Y, W, H float64
	Label      string // the day under the bar, on some bars only
	LabelX     float64
	Title      string
}

type tick struct {
	Y     float64
	Label string
}

// newChart lays out one bar per day from the first to the last day given,
// days without enrolments included as empty bars.
func newChart(days []store.DayCount) chart {
	ch := chart{Width: 960, Height: 240, Left: 48, Bottom: 210}
	days = slices.Clone(days)
	slices.SortFunc(days, func(a, b store.DayCount) int {
		switch {
		case a.Day < b.Day:
			return -1
		case a.Day > b.Day:
			return 1
		}
		return 0
	})
	days = fillDays(days)
	ch.Days = len(days)
	for _, d := range days {
		ch.Max = max(ch.Max, d.Residents)
		ch.Total += d.Residents
	}
	if len(days) == 0 {
		return ch
	}
	top := niceCeil(ch.Max)
	plotW := float64(ch.Width - ch.Left - 8)
	plotH := float64(ch.Bottom - 10)
	step := plotW / float64(len(days))
	labelEvery := max(1, (len(days)+9)/10)
	for i, d := range days {
		h := float64(d.Residents) / float64(top) * plotH
		b := bar{
			X: float64(ch.Left) + float64(i)*step + step*0.15, W: step * 0.7,
			Y: float64(ch.Bottom) - h, H: h,
			Title: fmt.Sprintf("%s: %d residents; %d households visited, %d enrolled", d.Day, d.Residents, d.Households, d.Enrolled),
		}
		if i%labelEvery == 0 || i == len(days)-1 {
			b.Label, b.LabelX = shortDay(d.Day), b.X+b.W/2
		}
		ch.Bars = append(ch.Bars, b)
	}
	for _, v := range []int64{0, top / 2, top} {
		ch.Ticks = append(ch.Ticks, tick{Y: float64(ch.Bottom) - float64(v)/float64(top)*plotH, Label: fmt.Sprint(v)})
	}
	return ch
}

// fillDays adds the missing days between the first and the last, when
// they span at most 92 days; a longer span is shown as given.
func fillDays(days []store.DayCount) []store.DayCount {
	if len(days) < 2 {
		return days
	}
	first, err1 := time.Parse(time.DateOnly, days[0].Day)
	last, err2 := time.Parse(time.DateOnly, days[len(days)-1].Day)
	if err1 != nil || err2 != nil || last.Sub(first) > 92*24*time.Hour {
		return days
	}
	have := map[string]store.DayCount{}
	for _, d := range days {
		have[d.Day] = d
	}
	var out []store.DayCount
	for t := first; !t.After(last); t = t.AddDate(0, 0, 1) {
		day := t.Format(time.DateOnly)
		d, ok := have[day]
		if !ok {
			d = store.DayCount{Day: day}
		}
		out = append(out, d)
	}
	return out
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten, for the axis.
func niceCeil(n int64) int64 {
	if n <= 1 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

func shortDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("2 Jan")
}
