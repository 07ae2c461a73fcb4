package ui

import (
	"context"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// Laptop is what the form reads and changes: the laptop's own store.
// *surveyor.Store implements it; the form never touches SQL, and it
// validates with the same schema rules the command line uses.
type Laptop interface {
	Registration(ctx context.Context) (surveyor.Registration, error)
	Status(ctx context.Context) (surveyor.Status, error)

	// Households, as the CLI's list/show/add/edit.
	List(ctx context.Context, f surveyor.ListFilter) ([]surveyor.HouseholdSummary, error)
	Household(ctx context.Context, id string) (*surveyor.HouseholdView, error)
	SaveHousehold(ctx context.Context, h *schema.Household) error
	UpdateHousehold(ctx context.Context, h *schema.Household) (int, error)

	// Drafts: what a worker has typed but not saved, kept as they type so
	// a reload, a closed tab or a pulled plug loses nothing.
	SaveDraft(ctx context.Context, d surveyor.Draft) error
	Draft(ctx context.Context, id string) (surveyor.Draft, error)
	Drafts(ctx context.Context) ([]surveyor.Draft, error)
	DeleteDraft(ctx context.Context, id string) error

	// Lookalikes: members of h who look like someone already enrolled on
	// this laptop (same name key and birth year, same phone, or same
	// Aadhaar hash), so the worker can check at the door.
	Lookalikes(ctx context.Context, h *schema.Household) ([]surveyor.Lookalike, error)

	// Places offers localities and pincodes as the worker types: those of
	// the households enrolled on this laptop and of the built-in gazetteer
	// of the laptop's city, matching prefix.
	Places(ctx context.Context, prefix string, limit int) ([]surveyor.Place, error)
}

var _ Laptop = (*surveyor.Store)(nil)
