package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/doorstep-health/doorstep/schema"
	httpapi "github.com/doorstep-health/doorstep/syncserver/http"
	"github.com/doorstep-health/doorstep/syncserver/store/storetest"
)

// public marks a route every caller may use without a token.
const public = "public"

// roleTable is DESIGN.md §9 applied to every route: who may call it. A
// route missing here fails TestEveryRouteHasRoles.
var roleTable = map[string][]string{
	"GET /healthz":                           {public},
	"GET /readyz":                            {public},
	"GET /.well-known/health-card-keys":      {public},
	"GET /metrics":                           {schema.RoleAdmin, schema.RoleSupervisor},
	"POST /api/v1/devices/register":          {public}, // the one-time code is the credential
	"POST /api/v1/sync/batches":              {schema.RoleDevice},
	"GET /api/v1/sync/changes":               {schema.RoleDevice},
	"GET /api/v1/stats":                      {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /api/v1/review/tasks":               {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /api/v1/review/tasks/:id":           {schema.RoleAdmin, schema.RoleSupervisor},
	"POST /api/v1/review/tasks/:id/decision": {schema.RoleAdmin, schema.RoleSupervisor},
	"POST /api/v1/persons/:id/unmerge":       {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /api/v1/persons/:id/audit":          {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /api/v1/persons/:id":                {schema.RoleAdmin, schema.RoleSupervisor, schema.RoleHospital},
	"GET /api/v1/persons/:id/card.pdf":       {schema.RoleAdmin, schema.RoleSupervisor, schema.RolePrinter},
	"POST /api/v1/print-jobs":                {schema.RoleAdmin, schema.RolePrinter},
	"GET /api/v1/print-jobs/:id":             {schema.RoleAdmin, schema.RolePrinter},
	"GET /api/v1/print-jobs/:id/sheet.pdf":   {schema.RoleAdmin, schema.RolePrinter},
	"POST /api/v1/print-jobs/:id/confirm":    {schema.RoleAdmin, schema.RolePrinter},
	"POST /api/v1/print-jobs/:id/cancel":     {schema.RoleAdmin, schema.RolePrinter},
	"POST /api/v1/print-jobs/:id/dispatch":   {schema.RoleAdmin, schema.RolePrinter},
	"POST /api/v1/cards/:serial/deliver":     {schema.RoleAdmin, schema.RolePrinter},
	"POST /api/v1/cards/verify":              {schema.RoleHospital},
	"GET /api/v1/feed":                       {schema.RoleHospital},
	"GET /fhir/metadata":                     {public},
	"GET /fhir/Patient/:id":                  {schema.RoleHospital},
	"GET /fhir/Patient":                      {schema.RoleHospital},
	// The console takes no bearer token: it checks its own session, CSRF
	// token and role on every page and form (syncserver/console's tests).
	"GET /console*":  {public},
	"POST /console*": {public},
}

// The server serves exactly the routes of the role table.
func TestEveryRouteHasRoles(t *testing.T) {
	st := storetest.Open(t)
	var served []string
	for _, r := range httpapi.New(st, slog.New(slog.DiscardHandler)).Routes() {
		served = append(served, r.Method+" "+r.Path)
	}
	var table []string
	for k := range roleTable {
		table = append(table, k)
	}
	slices.Sort(served)
	slices.Sort(table)
	for _, r := range served {
		if _, ok := roleTable[r]; !ok {
			t.Errorf("route %s is served but has no line in the role table", r)
		}
	}
	for _, r := range table {
		if !slices.Contains(served, r) {
			t.Errorf("role table names %s, which is not served", r)
		}
	}
}

// Each role gets exactly what DESIGN.md §9 grants it: a route outside its
// role is a 403, no token is a 401, a revoked token is a 401 — on every
// route that asks for a token.
func TestRoleTable(t *testing.T) {
	e := newEnv(t)
	_, deviceToken := e.device(t, "team-roles")
	tokens := map[string]string{
		schema.RoleDevice:     deviceToken,
		schema.RoleAdmin:      e.token(t, schema.RoleAdmin, "root"),
		schema.RoleSupervisor: e.token(t, schema.RoleSupervisor, "asha"),
		schema.RolePrinter:    e.token(t, schema.RolePrinter, "press"),
		schema.RoleHospital:   e.token(t, schema.RoleHospital, "aiims"),
	}
	revoked := e.token(t, schema.RoleHospital, "old-desk")
	if err := e.store.RevokeToken(context.Background(), "old-desk"); err != nil {
		t.Fatal(err)
	}
	roles := []string{schema.RoleAdmin, schema.RoleSupervisor, schema.RoleDevice, schema.RolePrinter, schema.RoleHospital}
	for route, allowed := range roleTable {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer(":id", "1", ":serial", "CNOSUCHCARD").Replace(path)
		if slices.Contains(allowed, public) {
			continue
		}
		t.Run(route, func(t *testing.T) {
			call := func(token string) int {
				b := body{}
				if method == http.MethodPost {
					b = plain(map[string]any{})
				}
				return e.do(t, method, path, token, b).status
			}
			if got := call(""); got != http.StatusUnauthorized {
				t.Errorf("no token: %d, want 401", got)
			}
			if got := call(revoked); got != http.StatusUnauthorized {
				t.Errorf("revoked token: %d, want 401", got)
			}
			if got := call("dst_not-a-real-token"); got != http.StatusUnauthorized {
				t.Errorf("unknown token: %d, want 401", got)
			}
			for _, role := range roles {
				got := call(tokens[role])
				if slices.Contains(allowed, role) {
					// Admitted: whatever the dummy request deserves (a 404
					// for task 1, a 422 for an empty body), but not refused.
					if got == http.StatusUnauthorized || got == http.StatusForbidden || got >= 500 {
						t.Errorf("%s: %d, want admitted", role, got)
					}
				} else if got != http.StatusForbidden {
					t.Errorf("%s: %d, want 403", role, got)
				}
			}
		})
	}
}
