package console

import (
	"context"

	"github.com/doorstep-health/doorstep/syncserver/store"
)

// Registry is what the console reads and changes. *store.Store implements
// it; the console never touches SQL. Reads that show a person's data take
// a context marked with store.WithReader, so the store audits them.
type Registry interface {
	Authenticate(ctx context.Context, token string) (store.Principal, error)

	// Review tasks (supervisor).
	ReviewTasks(ctx context.Context, f store.ReviewFilter) ([]store.ReviewTask, error)
	ReviewTask(ctx context.Context, id int64) (store.ReviewTask, error)
	DecideReview(ctx context.Context, id int64, decision, by string) (store.ReviewTask, error)

	// Progress (supervisor).
	Stats(ctx context.Context) (store.Stats, error)
	Progress(ctx context.Context) (store.Progress, error)
	EnrolmentsPerDay(ctx context.Context, days int) ([]store.DayCount, error)

	// Print queue (printer).
	CardCentres(ctx context.Context) ([]store.CentreCards, error)
	CreatePrintJob(ctx context.Context, centre string, limit int, by string) (store.PrintJob, error)
	PrintJob(ctx context.Context, id int64) (store.PrintJob, error)
	PrintJobs(ctx context.Context, centre string, limit int) ([]store.PrintJob, error)
	PrintJobToRender(ctx context.Context, id int64) (store.PrintJob, error)
	ConfirmPrintJob(ctx context.Context, id int64, by string) (store.PrintJob, error)
	CancelPrintJob(ctx context.Context, id int64, by string) error
	DispatchPrintJob(ctx context.Context, id int64, by string) error

	// People (supervisor).
	SearchPersons(ctx context.Context, query string, limit int) ([]store.PersonSummary, error)
	PersonDetail(ctx context.Context, healthID string) (store.PersonDetail, error)
}

var _ Registry = (*store.Store)(nil)
