package store

import (
	"context"
	"fmt"

	"github.com/doorstep-health/doorstep/schema"
)

// CentreCards is where one printing centre's cards stand.
type CentreCards struct {
	Centre string `json:"centre"`
	// Queued cards no open print job holds: what the next job takes.
	Queued int64 `json:"queued"`
	// InJobs are queued cards held by a print job not yet confirmed.
	InJobs int64 `json:"in_jobs"`
	// Held are queued cards that cannot be printed until their enrolment
	// is corrected (a name outside the card font).
	Held    int64 `json:"held"`
	Printed int64 `json:"printed"`
}

// CardCentres lists every printing centre that has cards, the one with
// most cards waiting first, so an operator (or the demo) knows where to
// print next.
func (s *Store) CardCentres(ctx context.Context) ([]CentreCards, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT centre,
			COALESCE(SUM(CASE WHEN status = 'queued' AND print_job IS NULL AND problem IS NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'queued' AND print_job IS NOT NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'queued' AND print_job IS NULL AND problem IS NOT NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'printed' THEN 1 ELSE 0 END), 0)
		FROM cards GROUP BY centre ORDER BY 2 DESC, centre`)
	if err != nil {
		return nil, fmt.Errorf("card centres: %w", err)
	}
	defer rows.Close()
	out := []CentreCards{}
	for rows.Next() {
		var c CentreCards
		if err := rows.Scan(&c.Centre, &c.Queued, &c.InJobs, &c.Held, &c.Printed); err != nil {
			return nil, fmt.Errorf("card centres: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("card centres: %w", err)
	}
	return out, nil
}

// PrintJobToRender returns a job whose sheets may be (re)written: one not
// yet confirmed or cancelled, with cards left to print. Rendering a
// confirmed job again would make a second valid copy of each card.
func (s *Store) PrintJobToRender(ctx context.Context, id int64) (PrintJob, error) {
	var job PrintJob
	err := s.readAs(ctx, func(q querier, audit auditFunc) error {
		var err error
		if job, err = s.printJob(ctx, q, id); err != nil {
			return err
		}
		if err := renderable(job); err != nil {
			return err
		}
		for i, p := range job.persons {
			if err := audit("print.sheet", p, fmt.Sprintf("print job %d card %s", id, job.Serials[i])); err != nil {
				return err
			}
		}
		return nil
	})
	return job, err
}

// renderable refuses a job whose sheets must not be written again.
func renderable(job PrintJob) error {
	id := job.ID
	switch {
	case job.Status == "confirmed":
		return schema.Errorf(schema.ECONFLICT, "print job %d is confirmed printed; printing it again would make a second copy of each card: reprint a spoilt card with reason damaged", id)
	case job.Status != "open":
		return schema.Errorf(schema.ECONFLICT, "print job %d is %s; its cards went back to the queue of %s for a new job", id, job.Status, job.Centre)
	case len(job.Cards) == 0:
		return schema.Errorf(schema.ECONFLICT, "print job %d has no card left to print (all revoked since it was made); cancel it", id)
	}
	return nil
}

// ValidCard returns the one card version of a person (by health ID,
// person id or resident id) that is not revoked.
func (s *Store) ValidCard(ctx context.Context, who string) (CardInfo, error) {
	var card CardInfo
	err := s.readAs(ctx, func(q querier, audit auditFunc) error {
		person, err := s.personOf(ctx, q, who)
		if err != nil {
			return err
		}
		list, err := cardsWhere(ctx, q, `person_id = ? AND status != 'revoked'`, person)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return schema.Errorf(schema.ENOTFOUND, "%s has no valid card: every version is revoked (a reprint queues a new one)", who)
		}
		card = list[0]
		if err := centreScope(ctx, card.Centre); err != nil {
			return err
		}
		return audit("card.pdf", person, "card "+card.Serial)
	})
	return card, err
}
