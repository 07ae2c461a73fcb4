package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// enrolled returns a household record and its members' records, as a
// laptop sends them.
func enrolled(id, line1, locality, pincode string, members ...schema.Resident) []schema.Record {
	h := schema.Household{ID: id, Area: "DL-NE-W02", Outcome: schema.OutcomeEnrolled,
		Address:   schema.Address{Line1: line1, Locality: locality, City: "Delhi", Pincode: pincode},
		Consent:   schema.Consent{Given: true},
		VisitedAt: "2026-03-02T11:00:00+05:30", Members: members}
	for i := range h.Members {
		h.Members[i].Relation = "other"
	}
	h.Normalize(time.Now())
	members, h.Members = h.Members, nil
	recs := []schema.Record{{Kind: schema.KindHousehold, ID: id, Version: 1, Data: plain(h).data}}
	for _, m := range members {
		recs = append(recs, schema.Record{Kind: schema.KindResident, ID: m.ID, Version: 1, Data: plain(m).data})
	}
	return recs
}

func aged(id, name, sex string, age int) schema.Resident {
	return schema.Resident{ID: id, Name: name, Sex: sex, Age: &age}
}

func born(id, name, sex, dob string) schema.Resident {
	return schema.Resident{ID: id, Name: name, Sex: sex, DOB: dob}
}

// reviewEnv is a server whose matcher has asked about two pairs: each
// woman registered by team 1, then again after a move by team 2, with her
// name as heard and an age.
func reviewEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	for team, recs := range [][]schema.Record{
		append(enrolled("hh-1", "H.No. 9, Gali 4", "Trilokpuri", "110091", born("lakshmi-1", "Lakshmi Verma", "F", "1990-06-30")),
			enrolled("hh-2", "H.No. 31, Gali 8", "Mangolpuri", "110083", born("sunita-1", "Suneeta Shrivastava", "F", "1984-02-11"))...),
		append(enrolled("hh-3", "D-14, Block D", "Sultanpuri", "110086", aged("lakshmi-2", "Laxmi Varma", "F", 35)),
			enrolled("hh-4", "B-2, Block B", "Kirari", "110086", aged("sunita-2", "Sunita Srivastav", "F", 42))...),
	} {
		dev, tok := e.device(t, fmt.Sprintf("team-%d", team+1))
		if res := e.do(t, http.MethodPost, "/api/v1/sync/batches", tok, gzipped(batch(dev, recs...))); res.status != http.StatusOK {
			t.Fatalf("push: %d %s", res.status, res.body)
		}
		if _, err := e.store.MatchAll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestReviewTasksAPI(t *testing.T) {
	e := reviewEnv(t)
	sup := e.token(t, schema.RoleSupervisor, "asha")

	type reviewPage struct {
		Tasks []store.ReviewTask
		Next  int64
	}
	var page reviewPage
	res := e.do(t, http.MethodGet, "/api/v1/review/tasks", sup, body{})
	if res.status != http.StatusOK {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	res.decode(t, &page)
	if len(page.Tasks) != 2 || page.Next != 0 {
		t.Fatalf("list: %d tasks, next %d, want 2 and no next page: %s", len(page.Tasks), page.Next, res.body)
	}
	all := page.Tasks
	for _, task := range all {
		if task.Status != "open" || task.Comparison != nil || task.A.Resident.Name == "" || task.B.Person == "" {
			t.Errorf("listed task: %+v", task)
		}
	}

	// One task a page: following next gives the same tasks in order.
	var paged []int64
	for after := int64(0); ; {
		res := e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/review/tasks?limit=1&after=%d", after), sup, body{})
		page = reviewPage{}
		res.decode(t, &page)
		for _, task := range page.Tasks {
			paged = append(paged, task.ID)
		}
		if page.Next == 0 || len(paged) > 2 {
			break
		}
		after = page.Next
	}
	if len(paged) != 2 || paged[0] != all[0].ID || paged[1] != all[1].ID {
		t.Errorf("paged %v, listed %d and %d", paged, all[0].ID, all[1].ID)
	}

	// One task with its evidence, then decided.
	task := all[0]
	var shown store.ReviewTask
	e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/review/tasks/%d", task.ID), sup, body{}).decode(t, &shown)
	if shown.ID != task.ID || shown.Comparison == nil || len(shown.Comparison.Evidence) == 0 ||
		shown.Comparison.Probability != task.Probability {
		t.Errorf("shown task: %+v", shown)
	}
	before := e.stats(t, sup)
	decide := fmt.Sprintf("/api/v1/review/tasks/%d/decision", task.ID)
	res = e.do(t, http.MethodPost, decide, sup, plain(map[string]string{"decision": "same"}))
	if res.status != http.StatusOK {
		t.Fatalf("decide: %d %s", res.status, res.body)
	}
	var decided store.ReviewTask
	res.decode(t, &decided)
	if decided.Status != "same" || decided.DecidedBy != "asha" || decided.A.Person != decided.B.Person || decided.B.Person != task.B.Person {
		t.Errorf("decided task: %s by %q, persons %s %s (candidate's was %s)", decided.Status, decided.DecidedBy, decided.A.Person, decided.B.Person, task.B.Person)
	}
	if after := e.stats(t, sup); after.Persons != before.Persons-1 || after.ReviewOpen != before.ReviewOpen-1 {
		t.Errorf("stats after same: persons %d→%d, review open %d→%d", before.Persons, after.Persons, before.ReviewOpen, after.ReviewOpen)
	}
	if res := e.do(t, http.MethodPost, decide, sup, plain(map[string]string{"decision": "same"})); res.status != http.StatusOK {
		t.Errorf("deciding again the same way: %d %s", res.status, res.body)
	}
	var p schema.Problem
	res = e.do(t, http.MethodPost, decide, sup, plain(map[string]string{"decision": "different"}))
	if res.decode(t, &p); res.status != http.StatusConflict || p.Code != schema.ECONFLICT {
		t.Errorf("deciding the other way: %d %s", res.status, res.body)
	}
	res = e.do(t, http.MethodGet, "/api/v1/review/tasks?status=same", sup, body{})
	page = reviewPage{}
	res.decode(t, &page)
	if len(page.Tasks) != 1 || page.Tasks[0].ID != task.ID {
		t.Errorf("tasks decided same: %s", res.body)
	}

	// Unmerge restores the merged person.
	unmerge := "/api/v1/persons/" + task.A.Person + "/unmerge"
	res = e.do(t, http.MethodPost, unmerge, sup, body{})
	if res.status != http.StatusOK {
		t.Fatalf("unmerge: %d %s", res.status, res.body)
	}
	var um store.UnmergeResult
	res.decode(t, &um)
	if um.Restored != task.A.Person || um.Survivor != task.B.Person || len(um.Residents) != 1 || um.Residents[0] != task.A.Resident.ID {
		t.Errorf("unmerge: %+v", um)
	}
	if after := e.stats(t, sup); after.Persons != before.Persons {
		t.Errorf("persons after unmerge %d, want %d", after.Persons, before.Persons)
	}
	// Unmerging says the two are different people: the task says so now.
	var undone store.ReviewTask
	e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/review/tasks/%d", task.ID), sup, body{}).decode(t, &undone)
	if undone.Status != "different" || undone.A.Person == undone.B.Person {
		t.Errorf("task after unmerge: %s, persons %s %s", undone.Status, undone.A.Person, undone.B.Person)
	}

	// Errors, each a problem body with a code.
	admin := e.token(t, schema.RoleAdmin, "root")
	tests := []struct {
		name, method, path, token string
		body                      body
		status                    int
		code, field               string
	}{
		{"unknown decision", "POST", fmt.Sprintf("/api/v1/review/tasks/%d/decision", all[1].ID), sup, plain(map[string]string{"decision": "maybe"}), 422, schema.EINVALID, "decision"},
		{"no decision", "POST", fmt.Sprintf("/api/v1/review/tasks/%d/decision", all[1].ID), admin, plain(map[string]string{}), 422, schema.EINVALID, "decision"},
		{"malformed decision", "POST", decide, sup, body{data: []byte(`{"decision":`)}, 400, schema.EMALFORMED, ""},
		{"unknown task", "GET", "/api/v1/review/tasks/999999", sup, body{}, 404, schema.ENOTFOUND, ""},
		{"decide unknown task", "POST", "/api/v1/review/tasks/999999/decision", sup, plain(map[string]string{"decision": "same"}), 404, schema.ENOTFOUND, ""},
		{"task id not a number", "GET", "/api/v1/review/tasks/abc", sup, body{}, 422, schema.EINVALID, "id"},
		{"task id zero", "POST", "/api/v1/review/tasks/0/decision", sup, plain(map[string]string{"decision": "same"}), 422, schema.EINVALID, "id"},
		{"unknown status", "GET", "/api/v1/review/tasks?status=closed", sup, body{}, 422, schema.EINVALID, "status"},
		{"limit too large", "GET", "/api/v1/review/tasks?limit=5000", sup, body{}, 422, schema.EINVALID, "limit"},
		{"bad after", "GET", "/api/v1/review/tasks?after=-1", sup, body{}, 422, schema.EINVALID, "after"},
		{"unmerge twice", "POST", unmerge, sup, body{}, 409, schema.ECONFLICT, ""},
		{"unmerge unknown", "POST", "/api/v1/persons/NO-SUCH/unmerge", admin, body{}, 404, schema.ENOTFOUND, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(t, tt.method, tt.path, tt.token, tt.body)
			var p schema.Problem
			res.decode(t, &p)
			if res.status != tt.status || p.Code != tt.code || p.Field != tt.field || p.Message == "" {
				t.Errorf("%d %+v, want %d %s field %q", res.status, p, tt.status, tt.code, tt.field)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// Only supervisors and admins work review tasks.
func TestReviewRoles(t *testing.T) {
	e := reviewEnv(t)
	ctx := context.Background()
	_, deviceTok := e.device(t, "team-3")
	tokens := map[string]string{"device": deviceTok, "none": ""}
	for _, role := range []string{schema.RoleSupervisor, schema.RoleAdmin, schema.RolePrinter, schema.RoleHospital} {
		tokens[role] = e.token(t, role, role+"-1")
	}
	tasks, err := e.store.ReviewTasks(ctx, store.ReviewFilter{})
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no review tasks: %v", err)
	}
	task := tasks[0]
	endpoints := []struct {
		method, path string
		body         body
	}{
		{"GET", "/api/v1/review/tasks", body{}},
		{"GET", fmt.Sprintf("/api/v1/review/tasks/%d", task.ID), body{}},
		{"POST", fmt.Sprintf("/api/v1/review/tasks/%d/decision", task.ID), plain(map[string]string{"decision": "different"})},
		{"POST", "/api/v1/persons/" + task.A.Resident.ID + "/unmerge", body{}},
	}
	for _, role := range []struct {
		name   string
		status int
	}{
		{"none", 401}, {"device", 403}, {schema.RolePrinter, 403}, {schema.RoleHospital, 403},
	} {
		for _, ep := range endpoints {
			res := e.do(t, ep.method, ep.path, tokens[role.name], ep.body)
			if res.status != role.status {
				t.Errorf("%s %s as %s: %d %s, want %d", ep.method, ep.path, role.name, res.status, res.body, role.status)
			}
		}
	}
	if st, _ := e.store.ReviewTask(ctx, task.ID); st.Status != "open" {
		t.Fatalf("a refused request decided the task: %s", st.Status)
	}
	// Supervisors and admins get through to the store. The unmerge of a
	// resident alone in its person is the store's conflict, not a refusal.
	for _, role := range []string{schema.RoleSupervisor, schema.RoleAdmin} {
		want := []int{200, 200, 200, 409}
		for i, ep := range endpoints {
			if res := e.do(t, ep.method, ep.path, tokens[role], ep.body); res.status != want[i] {
				t.Errorf("%s %s as %s: %d %s, want %d", ep.method, ep.path, role, res.status, res.body, want[i])
			}
		}
	}
}

func (e *env) stats(t *testing.T, token string) store.Stats {
	t.Helper()
	var st store.Stats
	res := e.do(t, http.MethodGet, "/api/v1/stats", token, body{})
	if res.status != http.StatusOK {
		t.Fatalf("stats: %d %s", res.status, res.body)
	}
	res.decode(t, &st)
	return st
}
