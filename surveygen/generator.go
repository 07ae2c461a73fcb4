// Package surveygen generates realistic synthetic door-to-door survey data
// for Delhi in the import format (DESIGN.md §2): households of families with
// consistent ages, relations and names across communities, real localities
// and pincodes, shared family phones, some Aadhaar numbers, and a known
// fraction of people enrolled a second time by another team with the noise
// real second enrolments carry. Every member carries a cluster id, the
// ground truth a matcher is judged on.
//
// The output depends only on Options: the same seed gives the same bytes.
package surveygen

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// Household is one household record in the import format, with its
// members' ground truth.
type Household struct {
	schema.Household
	// Members shadows schema.Household.Members so that each member carries
	// its cluster in the JSON.
	Members []Member `json:"members,omitempty"`
}

// Member is one enrolment of one synthetic person. Cluster is the ground
// truth: the same human carries the same cluster in every enrolment.
type Member struct {
	schema.Resident
	Cluster string `json:"cluster"`
}

// Schema returns the household as schema.Household, members included and
// clusters dropped, for validation and import.
func (h Household) Schema() schema.Household {
	s := h.Household
	s.Members = nil
	for _, m := range h.Members {
		s.Members = append(s.Members, m.Resident)
	}
	return s
}

// Options says what to generate.
type Options struct {
	// Households is the number of household records to write, second
	// enrolments included.
	Households int
	// DupRate is the fraction of persons enrolled a second time by another
	// team, between 0 and 1.
	DupRate float64
	// Seed selects the data; the same Options give the same output.
	Seed uint64
	// Start is the first day of the survey at the hour work starts; zero
	// means DefaultStart. Visits fall on the working days (Monday to
	// Saturday) of the following Days days, between Start's hour and eight
	// and a half hours later, written with Start's offset.
	Start time.Time
	// Days is the length of the survey; zero means 30.
	Days int
	// Noise sets the probabilities of the noise model of second
	// enrolments; nil means DefaultNoise.
	Noise *Noise
}

// DefaultStart is 1 October 2026, 09:00 in India (+05:30): fixed, so the
// same seed gives the same bytes, and in the past, so the default 30 days of
// visits never fall in the future of a machine running the tests.
func DefaultStart() time.Time {
	return time.Date(2026, 10, 1, 9, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
}

// Stats counts what a Generator has written so far.
type Stats struct {
	Households          int `json:"households"`           // records written
	Enrolled            int `json:"enrolled"`             // records with outcome enrolled
	DuplicateHouseholds int `json:"duplicate_households"` // records of a second team's visit
	Residents           int `json:"residents"`            // member records
	Persons             int `json:"persons"`              // distinct humans (clusters)
	Duplicated          int `json:"duplicated"`           // persons enrolled more than once
}

// Generator produces households one at a time. It is not safe for
// concurrent use.
type Generator struct {
	opt      Options
	noise    Noise
	rng      *rand.Rand
	tab      *tables
	start    time.Time // first working moment, in the output offset
	today    time.Time // start's date at midnight UTC, for ages
	workDays []int     // day offsets of working days

	queue   []pending // second enrolments waiting their turn, by due
	seq     int
	stopped bool // no more first visits: only the queue is left
	stats   Stats
}

// New returns a Generator for opt. Out-of-range options are clamped: a
// negative count is zero and DupRate is kept within [0, 1].
func New(opt Options) *Generator {
	opt.Households = max(opt.Households, 0)
	opt.DupRate = min(max(opt.DupRate, 0), 1)
	if opt.Start.IsZero() {
		opt.Start = DefaultStart()
	}
	if opt.Days <= 0 {
		opt.Days = 30
	}
	g := &Generator{
		opt:   opt,
		noise: DefaultNoise(),
		// The second PCG word is fixed so that the seed alone picks the
		// stream; it spells "doorstep".
		rng:   rand.New(rand.NewPCG(opt.Seed, 0x646f6f7273746570)),
		tab:   newTables(),
		start: opt.Start,
	}
	if opt.Noise != nil {
		g.noise = *opt.Noise
	}
	y, m, d := opt.Start.Date()
	g.today = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for i := range opt.Days {
		if opt.Start.AddDate(0, 0, i).Weekday() != time.Sunday {
			g.workDays = append(g.workDays, i)
		}
	}
	if len(g.workDays) == 0 {
		g.workDays = []int{0}
	}
	return g
}

// Next returns the next household, or false when Options.Households have
// been returned.
func (g *Generator) Next() (Household, bool) {
	if g.stats.Households >= g.opt.Households {
		return Household{}, false
	}
	// Once first visits plus waiting second enrolments fill the count, only
	// the queue is drained, so the requested duplicates are not cut off.
	if !g.stopped && g.stats.Households+len(g.queue) >= g.opt.Households {
		g.stopped = true
	}
	var h Household
	if len(g.queue) > 0 && (g.stopped || g.queue[0].due <= g.stats.Households) {
		p := g.queue[0]
		g.queue = g.queue[1:]
		h = g.second(p)
		g.stats.DuplicateHouseholds++
	} else {
		h = g.first()
	}
	g.stats.Households++
	if h.Outcome == schema.OutcomeEnrolled {
		g.stats.Enrolled++
	}
	return h, true
}

// Stats returns the counts of what has been generated so far.
func (g *Generator) Stats() Stats { return g.stats }

// Write writes the remaining households to w as JSON lines.
func (g *Generator) Write(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := 0; ; i++ {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		h, ok := g.Next()
		if !ok {
			break
		}
		if err := enc.Encode(h); err != nil {
			return fmt.Errorf("write household %d: %w", i+1, err)
		}
	}
	return bw.Flush()
}

// chance reports true with probability p.
func (g *Generator) chance(p float64) bool { return p > 0 && g.rng.Float64() < p }

// between returns a uniform integer in [lo, hi].
func (g *Generator) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.IntN(hi-lo+1)
}

// oneOf returns a uniform element of s.
func oneOf[T any](g *Generator, s []T) T { return s[g.rng.IntN(len(s))] }
