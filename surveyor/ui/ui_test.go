package ui_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
	"github.com/doorstep-health/doorstep/surveyor/surveytest"
	"github.com/doorstep-health/doorstep/surveyor/ui"
)

const (
	goodAadhaar = "234567890124" // valid check digit
	badAadhaar  = "234567890123"
)

// env is a registered laptop store in a temp dir with the form in front
// of it on 127.0.0.1, and a browser-like client that has opened the
// printed address.
type env struct {
	t    *testing.T
	st   *surveyor.Store
	srv  *ui.Server
	ts   *httptest.Server
	c    *http.Client
	csrf string
	// base is the form's address as printed: the run's host name under
	// .localhost at the test server's port.
	base string
}

// client is a browser without cookies that resolves the run's host name
// to the test server, as browsers resolve *.localhost to this laptop.
func (e *env) client(jar http.CookieJar) *http.Client {
	addr := e.ts.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// newEnv registers the store against serverURL ("" for a server that is
// not there) and opens the form with the secret.
func newEnv(t testing.TB, fake *surveytest.Server) *env {
	t.Helper()
	ctx := context.Background()
	st, err := surveyor.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	syncer := surveyor.NewSyncer(st)
	syncer.Retry = surveyor.RetryPolicy{Base: time.Millisecond, Max: 2 * time.Millisecond, MaxRetries: 1}
	if fake != nil {
		if _, err := syncer.Register(ctx, fake.URL, fake.Code); err != nil {
			t.Fatal(err)
		}
	} else {
		err = st.SaveRegistration(ctx, "http://127.0.0.1:1", schema.Registered{DeviceID: "DEV1", Name: "laptop", Area: "DL-NW-W05",
			Token: "tok", AadhaarKey: base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))})
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := ui.New(st, syncer, ui.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	jar, _ := cookiejar.New(nil)
	e := &env{st: st, srv: srv, ts: ts}
	e.c = e.client(jar)
	printed := srv.URL(ts.Listener.Addr())
	e.base = printed[:strings.Index(printed, "/?")]
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	res, err := e.c.Get(printed)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first visit with the secret: %d", res.StatusCode)
	}
	body := e.getOK(t, "/enrol")
	m := regexp.MustCompile(`name="csrf" content="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the form page")
	}
	e.csrf = m[1]
	return e
}

func (e *env) do(t testing.TB, method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func (e *env) getOK(t testing.TB, path string) string {
	t.Helper()
	res, body := e.do(t, http.MethodGet, path, nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, res.StatusCode, body)
	}
	return body
}

// post sends a form with the run's CSRF token.
func (e *env) post(t testing.TB, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set("csrf", e.csrf)
	return e.do(t, http.MethodPost, path, form, nil)
}

// household is a valid form of a household of three.
func household() url.Values {
	return url.Values{
		"id": {schema.NewID()}, "draft_id": {schema.NewID()}, "mode": {"new"},
		"area": {"DL-NW-W05"}, "address.line1": {"House 12, Gali 4"}, "address.locality": {"Rohini Sector 5"},
		"address.city": {"Delhi"}, "address.pincode": {"110085"}, "outcome": {"enrolled"}, "consent.given": {"yes"},
		"members[0].relation": {"head"}, "members[0].name": {"Ram Kumar"}, "members[0].sex": {"M"},
		"members[0].dob": {"1980-05-12"}, "members[0].phone": {"9812345678"}, "members[0].aadhaar": {goodAadhaar},
		"members[1].relation": {"spouse"}, "members[1].name": {"Sita Devi"}, "members[1].sex": {"F"}, "members[1].age": {"41"},
		"members[1].spouse_name": {"Ram Kumar"},
		"members[2].relation":    {"son"}, "members[2].name": {"Mohan Kumar"}, "members[2].sex": {"M"}, "members[2].dob": {"2016"},
		"action": {"save"},
	}
}

func TestSecretRequired(t *testing.T) {
	e := newEnv(t, nil)
	stranger := e.client(nil)
	for _, path := range []string{"/", "/enrol", "/api/sync", "/api/places?q=Ro", "/?k=wrong", "/?k="} {
		res, err := stranger.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s without the secret: %d, want 403", path, res.StatusCode)
		}
		if strings.Contains(string(b), e.srv.Secret()) {
			t.Errorf("GET %s without the secret shows it", path)
		}
		// The CSRF token is for signed-in pages only.
		if strings.Contains(string(b), e.csrf) {
			t.Errorf("GET %s without the secret shows the CSRF token", path)
		}
	}
	// The secret becomes an HttpOnly, SameSite=Strict cookie and leaves
	// the address.
	res, err := stranger.Get(e.base + "/enrol?k=" + url.QueryEscape(e.srv.Secret()))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/enrol" {
		t.Fatalf("visit with the secret: %d to %q, want 303 to /enrol", res.StatusCode, res.Header.Get("Location"))
	}
	// The cookie holds a session id of its own, never the secret, and
	// is for the run's host name alone (no Domain).
	cookies := res.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode ||
		cookies[0].Value == "" || strings.Contains(cookies[0].Value, e.srv.Secret()) || cookies[0].Domain != "" {
		t.Fatalf("cookie: %+v", cookies)
	}
	if !strings.HasSuffix(e.srv.Host(), ".localhost") || !strings.HasPrefix(e.base, "http://"+e.srv.Host()+":") {
		t.Errorf("printed address %s, host %s: want a host name under .localhost", e.base, e.srv.Host())
	}
	// The secret as a cookie value gets nowhere.
	req, _ := http.NewRequest(http.MethodGet, e.base+"/", nil)
	req.AddCookie(&http.Cookie{Name: cookies[0].Name, Value: e.srv.Secret()})
	if res, err := stranger.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("the secret as the cookie: %v %v, want 403", res.StatusCode, err)
	}
	if n := len(e.srv.Secret()); n < 22 { // 128 bits in base64
		t.Errorf("secret of %d characters", n)
	}
	e.getOK(t, "/")
}

func TestLoopbackOnly(t *testing.T) {
	e := newEnv(t, nil)
	var cookie *http.Cookie
	u, _ := url.Parse(e.base)
	for _, c := range e.c.Jar.Cookies(u) {
		cookie = &http.Cookie{Name: "doorstep_surveyor_80", Value: c.Value}
	}
	for _, tc := range []struct {
		name, remote, host string
		want               int
	}{
		{"run's host", "127.0.0.1:5000", e.srv.Host(), http.StatusOK},
		{"run's host, ipv6", "[::1]:5000", strings.ToUpper(e.srv.Host()), http.StatusOK},
		// Other names of this laptop share cookies with every other
		// local server: the form does not answer to them.
		{"loopback address", "127.0.0.1:5000", "127.0.0.1", http.StatusForbidden},
		{"localhost name", "127.0.0.1:5000", "localhost", http.StatusForbidden},
		{"another .localhost", "127.0.0.1:5000", "other.localhost", http.StatusForbidden},
		{"from the network", "192.168.1.20:5000", e.srv.Host(), http.StatusForbidden},
		{"rebound name", "127.0.0.1:5000", "evil.example", http.StatusForbidden},
	} {
		req := httptest.NewRequest(http.MethodGet, "http://"+tc.host+"/", nil)
		req.RemoteAddr = tc.remote
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "localhost:8080": true, "[::1]:0": true, "127.0.0.2:9": true,
		"0.0.0.0:0": false, ":8080": false, "192.168.1.2:80": false, "example.org:80": false, "nonsense": false} {
		if err := ui.CheckAddr(addr); (err == nil) != ok {
			t.Errorf("CheckAddr(%q) = %v", addr, err)
		}
	}
}

func TestPostsNeedSecretAndCSRF(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/enrol", "/api/validate", "/api/draft", "/sync", "/lang"} {
		form := household()
		// No CSRF token.
		if res, _ := e.do(t, http.MethodPost, path, form, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d, want 403", path, res.StatusCode)
		}
		// A wrong one.
		form.Set("csrf", "x"+e.csrf)
		if res, _ := e.do(t, http.MethodPost, path, form, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token: %d, want 403", path, res.StatusCode)
		}
		// The right one, from another site.
		form.Set("csrf", e.csrf)
		if res, _ := e.do(t, http.MethodPost, path, form, map[string]string{"Origin": "http://evil.example"}); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s from another origin: %d, want 403", path, res.StatusCode)
		}
		// The right one without the cookie.
		req, _ := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := e.client(nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without the cookie: %d, want 403", path, res.StatusCode)
		}
	}
	list, err := e.st.List(context.Background(), surveyor.ListFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("refused posts saved %d households (%v)", len(list), err)
	}
}

type validateAnswer struct {
	Errors []struct{ Field, Path, Rule, Message string }
	Notes  map[string]string
}

func TestValidateNamesFields(t *testing.T) {
	e := newEnv(t, nil)
	form := household()
	form.Set("members[1].aadhaar", badAadhaar)
	form.Del("address.pincode")
	form.Set("members[2].dob", "2016-02-30")
	// A blank row between members: paths name the rows the worker sees.
	form.Set("members[4].relation", "daughter")
	form.Set("members[4].name", "Gita")
	form.Set("members[4].sex", "F")
	form.Set("members[4].age", "abc")
	form.Set("members[3].relation", "son")
	res, body := e.post(t, "/api/validate", form)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("validate: %d %s", res.StatusCode, body)
	}
	var ans validateAnswer
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range ans.Errors {
		got[e.Field+" "+e.Rule] = e.Message
	}
	want := map[string]string{
		"members[1].aadhaar aadhaar_checksum": "Aadhaar is not a valid Aadhaar number",
		"address.pincode required":            "Pincode is required",
		"members[2].dob date_format":          "Date of birth must be a real date",
		"members[4].age age_number":           "Or age must be the stated age",
	}
	for k, prefix := range want {
		if !strings.HasPrefix(got[k], prefix) {
			t.Errorf("error %s: %q, want it to start %q (all: %v)", k, got[k], prefix, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("errors %v, want only %v", got, want)
	}
	if n := ans.Notes["members[1].dob"]; !strings.Contains(n, "Estimated") || !strings.Contains(n, "born in") {
		t.Errorf("note on an age: %q", n)
	}
	// In Hindi, the same rules in Hindi words.
	e.post(t, "/lang", url.Values{"lang": {"hi"}, "back": {"/"}})
	_, body = e.post(t, "/api/validate", form)
	if !strings.Contains(body, "सही आधार नंबर नहीं है") || !strings.Contains(body, "पिनकोड") {
		t.Errorf("Hindi validation: %s", body)
	}
}

func TestSaveWithoutScriptKeepsValuesAndShowsErrors(t *testing.T) {
	e := newEnv(t, nil)
	form := household()
	form.Set("members[0].aadhaar", badAadhaar)
	form.Set("address.pincode", "011008")
	res, body := e.post(t, "/enrol", form)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid save: %d", res.StatusCode)
	}
	for _, s := range []string{
		`data-error-for="members[0].aadhaar">Aadhaar is not a valid Aadhaar number`,
		`data-error-for="address.pincode">Pincode must be 6 digits`,
		`value="House 12, Gali 4"`, `value="Sita Devi"`, `value="41"`, `value="011008"`,
		`name="members[0].aadhaar" value="` + badAadhaar + `"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the page after an invalid save lacks %s", s)
		}
	}
	if list, _ := e.st.List(context.Background(), surveyor.ListFilter{}); len(list) != 0 {
		t.Fatalf("an invalid household was saved")
	}

	// Fixed, it saves, shows in the list, and Enter without the script
	// (action=add) had only added a row.
	add := household()
	add.Set("action", "add")
	if res, body := e.post(t, "/enrol", add); res.StatusCode != http.StatusOK || !strings.Contains(body, `name="members[3].name"`) {
		t.Fatalf("add a member without script: %d", res.StatusCode)
	}
	form = household()
	res, _ = e.post(t, "/enrol", form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("valid save: %d", res.StatusCode)
	}
	id := form.Get("id")
	v, err := e.st.Household(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Members) != 3 || v.Members[1].DOBPrecision != schema.PrecisionEstimated || v.Members[0].AadhaarLast4 != "0124" || v.Members[0].Phone != "+919812345678" {
		t.Fatalf("saved household: %+v", v.Members)
	}
	list := e.getOK(t, res.Header.Get("Location"))
	if !strings.Contains(list, "Saved the household of Ram Kumar with 3 members") || !strings.Contains(list, "Waiting to be sent") {
		t.Errorf("the list after saving does not say so")
	}
	// Saving the same form again (a double click) makes no second household.
	if res, _ := e.post(t, "/enrol", form); res.StatusCode != http.StatusSeeOther {
		t.Errorf("second save of the same form: %d", res.StatusCode)
	}
	if all, _ := e.st.List(context.Background(), surveyor.ListFilter{}); len(all) != 1 {
		t.Errorf("%d households after a double save", len(all))
	}

	// Edit: the Aadhaar is kept without being typed again, and the change
	// travels as a new version.
	edit := e.getOK(t, "/households/"+id+"/edit")
	if !strings.Contains(edit, "On file: ending 0124") {
		t.Errorf("the edit form does not show the Aadhaar on file")
	}
	ef := url.Values{"id": {id}, "draft_id": {schema.NewID()}, "mode": {"edit"}}
	for k, vs := range household() {
		if k != "id" && k != "draft_id" && k != "mode" && !strings.HasSuffix(k, ".aadhaar") {
			ef[k] = vs
		}
	}
	for i, m := range v.Members {
		ef.Set("members["+string(rune('0'+i))+"].id", m.ID)
	}
	ef.Set("members[2].name", "Mohan Lal")
	res, _ = e.post(t, "/households/"+id, ef)
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "changed=1") {
		t.Fatalf("edit: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	v2, _ := e.st.Household(context.Background(), id)
	if v2.Members[2].Name != "Mohan Lal" || v2.Members[2].Version != 2 || v2.Members[0].AadhaarHash != v.Members[0].AadhaarHash {
		t.Errorf("after the edit: %+v", v2.Members)
	}
}

func TestSearchByNameOrPhone(t *testing.T) {
	e := newEnv(t, nil)
	e.post(t, "/enrol", household())
	other := household()
	other.Set("members[0].name", "Abdul Rashid")
	other.Set("members[0].phone", "7011122233")
	other.Set("members[0].aadhaar", "")
	// Sita Devi again: the form warns before it saves.
	if res, body := e.post(t, "/enrol", other); res.StatusCode != http.StatusOK || !strings.Contains(body, "Someone like this is already enrolled") ||
		!strings.Contains(body, "Member 2, Sita Devi, looks like Sita Devi") {
		t.Fatalf("a lookalike saved without a warning: %d", res.StatusCode)
	}
	other.Set("confirm", "lookalikes")
	if res, _ := e.post(t, "/enrol", other); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save anyway: %d", res.StatusCode)
	}
	for q, want := range map[string]string{"sita": "Ram Kumar", "70111": "Abdul Rashid", "+91 98123": "Ram Kumar"} {
		body := e.getOK(t, "/?q="+url.QueryEscape(q))
		if !strings.Contains(body, "2 households") && strings.Count(body, `data-household=`) != 1 || !strings.Contains(body, want) {
			t.Errorf("search %q: %d rows, want %s", q, strings.Count(body, `data-household=`), want)
		}
	}
}

func TestEscapesUserData(t *testing.T) {
	e := newEnv(t, nil)
	form := household()
	form.Set("members[0].name", `<script>alert(1)</script>`)
	form.Set("address.line1", `"><img src=x onerror=alert(1)>`)
	if res, body := e.post(t, "/enrol", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, body)
	}
	for _, path := range []string{"/", "/households/" + form.Get("id") + "/edit"} {
		body := e.getOK(t, path)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s shows user data unescaped", path)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the escaped name", path)
		}
	}
}

var inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>`)

func TestCSPAndNoInlineScriptOrStyle(t *testing.T) {
	e := newEnv(t, nil)
	form := household()
	e.post(t, "/enrol", form)
	bad := household()
	bad.Set("members[0].aadhaar", badAadhaar)
	_, invalid := e.post(t, "/enrol", bad)
	pages := map[string]string{"invalid form": invalid}
	for _, p := range []string{"/", "/enrol", "/households/" + form.Get("id") + "/edit", "/no-such-page"} {
		res, body := e.do(t, http.MethodGet, p, nil, nil)
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		pages[p] = body
	}
	for name, body := range pages {
		for _, tag := range inlineScript.FindAllString(body, -1) {
			if !strings.Contains(tag, ` src="/static/`) {
				t.Errorf("%s: inline script %s", name, tag)
			}
		}
		if strings.Contains(body, "<style") || regexp.MustCompile(`\sstyle=`).MatchString(body) || regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
			t.Errorf("%s: inline style or event handler", name)
		}
	}
	for _, f := range []string{"/static/ui.js", "/static/ui.css"} {
		res, _ := e.do(t, http.MethodGet, f, nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", f, res.StatusCode)
		}
	}
}

func TestSyncOfflineThenOnline(t *testing.T) {
	fake := surveytest.NewServer(t)
	e := newEnv(t, fake)
	form := household()
	e.post(t, "/enrol", form)

	// The server goes away: sync says offline at once, and how many wait.
	fake.Close()
	state := e.syncNow(t)
	if state.Kind != "offline" || !strings.Contains(state.Message, "1 households wait") || state.Waiting != 1 {
		t.Fatalf("sync with the server gone: %+v", state)
	}
	body := e.getOK(t, "/")
	if !strings.Contains(body, "Offline: the server cannot be reached. 1 households wait") {
		t.Errorf("the list does not say offline")
	}
}

func TestSyncBringsHealthIDs(t *testing.T) {
	fake := surveytest.NewServer(t)
	e := newEnv(t, fake)
	form := household()
	e.post(t, "/enrol", form)
	state := e.syncNow(t)
	if state.Kind != "ok" || !strings.Contains(state.Message, "Sent 4 records: 4 accepted") {
		t.Fatalf("sync: %+v", state)
	}
	body := e.getOK(t, "/")
	v, _ := e.st.Household(context.Background(), form.Get("id"))
	for _, m := range v.Members {
		if m.HealthID == "" || !strings.Contains(body, m.HealthID) {
			t.Errorf("member %s: health ID %q not in the list", m.Name, m.HealthID)
		}
	}
	if !strings.Contains(body, "Health ID issued") || !strings.Contains(body, "Online") {
		t.Errorf("the list does not show the health IDs issued")
	}
}

type syncState struct {
	Running       bool
	Kind, Message string
	Waiting       int
}

// syncNow presses Sync now as the script does and follows it to its end.
func (e *env) syncNow(t *testing.T) syncState {
	t.Helper()
	form := url.Values{"csrf": {e.csrf}}
	res, body := e.do(t, http.MethodPost, "/sync", form, map[string]string{"Accept": "application/json"})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("sync now: %d %s", res.StatusCode, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := e.do(t, http.MethodGet, "/api/sync", nil, nil)
		var s syncState
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		if !s.Running && s.Kind != "" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync did not end: %+v", s)
		}
		time.Sleep(20 * time.Millisecond) // polling, as the page does
	}
}

func TestDraftNeverHoldsAadhaar(t *testing.T) {
	e := newEnv(t, nil)
	form := household()
	res, body := e.post(t, "/api/draft", form)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("save draft: %d %s", res.StatusCode, body)
	}
	d, err := e.st.Draft(context.Background(), form.Get("draft_id"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.Form, goodAadhaar) || !strings.Contains(d.Form, `"aadhaar_last4":"0124"`) || !strings.Contains(d.Form, "Sita Devi") {
		t.Fatalf("draft: %s", d.Form)
	}
	// Offered back on a new form, restored with a word about the Aadhaar.
	if body := e.getOK(t, "/enrol"); !strings.Contains(body, "/enrol?draft="+form.Get("draft_id")) {
		t.Errorf("a new form does not offer the draft back")
	}
	body = e.getOK(t, "/enrol?draft="+form.Get("draft_id"))
	if !strings.Contains(body, `value="Sita Devi"`) || !strings.Contains(body, "Type the Aadhaar number again (you had typed one ending 0124)") {
		t.Errorf("the restored form lacks the typed values or the Aadhaar note")
	}
	// Saving the household deletes its draft.
	if res, _ := e.post(t, "/enrol", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	if _, err := e.st.Draft(context.Background(), form.Get("draft_id")); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("the draft of a saved household: %v, want not found", err)
	}
	if body := e.getOK(t, "/enrol"); strings.Contains(body, "data-draft-offer") {
		t.Errorf("a new form still offers the saved household's draft")
	}
}

func TestCataloguesHaveEveryKey(t *testing.T) {
	// Hindi may fall back to English; English must name every key the
	// pages use, or the page would show the key.
	e := newEnv(t, nil)
	for _, p := range []string{"/", "/enrol"} {
		body := e.getOK(t, p)
		if m := regexp.MustCompile(`>[a-z]+\.[a-z_.]+<`).FindString(body); m != "" {
			t.Errorf("%s shows a message key: %s", p, m)
		}
	}
	e.post(t, "/lang", url.Values{"lang": {"hi"}, "back": {"/"}})
	if body := e.getOK(t, "/enrol"); !strings.Contains(body, "परिवार का नामांकन") || !strings.Contains(body, `lang="hi"`) {
		t.Errorf("the Hindi form has no Hindi labels")
	}
}

// pageForm is what a browser without the script sends from page: every
// input's and selected option's value, the consent box ticked.
func pageForm(page string) url.Values {
	f := url.Values{}
	for _, m := range regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`<select[^>]*name="([^"]+)"[\s\S]*?<option value="([^"]*)" selected>`).FindAllStringSubmatch(page, -1) {
		f.Set(m[1], m[2])
	}
	f.Set("consent.given", "yes")
	f.Set("action", "save")
	return f
}

// enrol saves form as a new household and returns it as stored.
func (e *env) enrol(t *testing.T, form url.Values) *surveyor.HouseholdView {
	t.Helper()
	if res, body := e.post(t, "/enrol", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("enrol: %d\n%s", res.StatusCode, body)
	}
	return e.household(t, form.Get("id"))
}

func (e *env) household(t *testing.T, id string) *surveyor.HouseholdView {
	t.Helper()
	v, err := e.st.Household(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// anotherAadhaar is a valid Aadhaar number other than goodAadhaar.
func anotherAadhaar(t *testing.T) string {
	for d := '0'; d <= '9'; d++ {
		if n := "49911866524" + string(d); schema.AadhaarValid(n) {
			return n
		}
	}
	t.Fatal("no valid Aadhaar number")
	return ""
}

func TestEditKeepsEstimatedDOB(t *testing.T) {
	e := newEnv(t, nil)
	before := e.enrol(t, household())
	if p := before.Members[1].DOBPrecision; p != schema.PrecisionEstimated {
		t.Fatalf("member enrolled with an age: precision %q", p)
	}
	// The edit page sent as shown, with only the address changed.
	form := pageForm(e.getOK(t, "/households/"+before.ID+"/edit"))
	form.Set("address.line1", "House 12A, Gali 4")
	if res, body := e.post(t, "/households/"+before.ID, form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", res.StatusCode, body)
	}
	after := e.household(t, before.ID)
	if after.Address.Line1 != "House 12A, Gali 4" {
		t.Fatalf("address not saved: %q", after.Address.Line1)
	}
	for i, m := range after.Members {
		b := before.Members[i]
		if m.DOB != b.DOB || m.DOBPrecision != b.DOBPrecision || m.Version != b.Version {
			t.Errorf("member %d: dob %s %s v%d, was %s %s v%d: an address edit changed it",
				i, m.DOB, m.DOBPrecision, m.Version, b.DOB, b.DOBPrecision, b.Version)
		}
	}
	// A typed date is still a typed date.
	form.Set("members[1].dob", "1984")
	if res, body := e.post(t, "/households/"+before.ID, form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", res.StatusCode, body)
	}
	if m := e.household(t, before.ID).Members[1]; m.DOB != "1984" || m.DOBPrecision != schema.PrecisionYear {
		t.Errorf("a typed year: %s %s, want 1984 year", m.DOB, m.DOBPrecision)
	}
}

func TestEditDraftAadhaarMustBeRetyped(t *testing.T) {
	e := newEnv(t, nil)
	other := anotherAadhaar(t)
	v := e.enrol(t, household())
	// The worker corrects the head's Aadhaar; the draft is saved as typed.
	form := pageForm(e.getOK(t, "/households/"+v.ID+"/edit"))
	form.Set("draft_id", "D1")
	form.Set("mode", "edit")
	form.Set("members[0].aadhaar", other)
	if res, body := e.post(t, "/api/draft", form); res.StatusCode != http.StatusOK {
		t.Fatalf("draft: %d %s", res.StatusCode, body)
	}
	// Restored, the draft does not call its last 4 digits "on file": it
	// asks for the number again.
	page := e.getOK(t, "/households/"+v.ID+"/edit?draft=D1")
	last4 := other[8:]
	if strings.Contains(page, "On file: ending "+last4) {
		t.Errorf("the restored draft shows the corrected number as on file")
	}
	if !strings.Contains(page, "you had typed one ending "+last4) {
		t.Errorf("the restored draft does not ask for the corrected number again")
	}
	// Saved without typing it: refused at the field, the old number kept.
	restored := pageForm(page)
	if restored.Get("members[0].aadhaar") != "" {
		t.Fatalf("the restored draft holds the Aadhaar number")
	}
	res, body := e.post(t, "/households/"+v.ID, restored)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "must be typed again") {
		t.Fatalf("save without the corrected number: %d, want 422 asking for it", res.StatusCode)
	}
	if got := e.household(t, v.ID).Members[0].AadhaarLast4; got != goodAadhaar[8:] {
		t.Fatalf("last 4 now %s", got)
	}
	// Typed again, it is saved.
	restored.Set("members[0].aadhaar", other)
	if res, body := e.post(t, "/households/"+v.ID, restored); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save with the corrected number: %d\n%s", res.StatusCode, body)
	}
	if got := e.household(t, v.ID).Members[0].AadhaarLast4; got != last4 {
		t.Errorf("last 4 now %s, want %s", got, last4)
	}
}

func TestLateDraftAfterSave(t *testing.T) {
	e := newEnv(t, nil)
	form := household()
	v := e.enrol(t, form)
	// The debounced autosave lands after the save: refused, no draft.
	res, _ := e.post(t, "/api/draft", form)
	if res.StatusCode != http.StatusConflict {
		t.Errorf("draft of a saved household: %d, want 409", res.StatusCode)
	}
	if _, err := e.st.Draft(context.Background(), form.Get("draft_id")); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("the saved household's draft came back: %v", err)
	}
	if list := e.getOK(t, "/"); strings.Contains(list, form.Get("draft_id")) {
		t.Errorf("the list offers the saved household's draft")
	}
	// Back to the form's address: a fresh form with a note, no error.
	page := e.getOK(t, "/enrol?draft="+form.Get("draft_id"))
	if !strings.Contains(page, "no longer here") || strings.Contains(page, `value="Sita Devi"`) {
		t.Errorf("back to the saved form's draft: no note or not a fresh form")
	}
	// The same form sent again: saved, nothing changed.
	res, _ = e.post(t, "/enrol", form)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "saved="+v.ID) {
		t.Errorf("the same form again: %d to %s", res.StatusCode, loc)
	}
	if again := e.household(t, v.ID); again.Version != v.Version || again.Members[2].Version != v.Members[2].Version {
		t.Errorf("the same form again made new versions")
	}
	// The form sent again with a change: the change is saved, and said so.
	form.Set("members[2].name", "Mohan Lal")
	res, _ = e.post(t, "/enrol", form)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "edited="+v.ID) {
		t.Fatalf("a changed form with a saved id: %d to %s", res.StatusCode, loc)
	}
	after := e.household(t, v.ID)
	if after.Members[2].Name != "Mohan Lal" || len(after.Members) != 3 || after.Members[2].ID != v.Members[2].ID {
		t.Errorf("the change was not saved to the same member: %+v", after.Members[2])
	}
	if list := e.getOK(t, res.Header.Get("Location")); strings.Contains(list, "Nothing changed") {
		t.Errorf("the change is reported as nothing changed")
	}
}

func TestBackStaysOnTheForm(t *testing.T) {
	e := newEnv(t, nil)
	for back, want := range map[string]string{
		"/enrol?draft=D1":     "/enrol?draft=D1",
		"/\t/evil.example":    "/",
		"/\n/evil.example":    "/",
		"/\x00/evil.example":  "/",
		"//evil.example":      "/",
		"/\\evil.example":     "/",
		"http://evil.example": "/",
		"evil.example":        "/",
		"":                    "/",
	} {
		res, _ := e.post(t, "/lang", url.Values{"lang": {"en"}, "back": {back}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("back %q: %d to %q, want %q", back, res.StatusCode, loc, want)
		}
		res, _ = e.post(t, "/drafts/D1/discard", url.Values{"back": {back}})
		if want == "/" {
			want = "/enrol"
		}
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("discard, back %q: %d to %q, want %q", back, res.StatusCode, loc, want)
		}
	}
}

func TestEditSentTwiceSaysSaved(t *testing.T) {
	e := newEnv(t, nil)
	v := e.enrol(t, household())
	form := pageForm(e.getOK(t, "/households/"+v.ID+"/edit"))
	form.Set("address.line1", "House 14, Gali 4")
	var locs []string
	for range 2 {
		res, body := e.post(t, "/households/"+v.ID, form)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%s", res.StatusCode, body)
		}
		locs = append(locs, res.Header.Get("Location"))
	}
	if locs[0] != locs[1] {
		t.Errorf("the same edit sent twice: %s then %s", locs[0], locs[1])
	}
	if list := e.getOK(t, locs[1]); strings.Contains(list, "Nothing changed") {
		t.Errorf("the second send of a saved edit says nothing changed")
	}
	// A page opened again and saved without a change still says so.
	form = pageForm(e.getOK(t, "/households/"+v.ID+"/edit"))
	res, _ := e.post(t, "/households/"+v.ID, form)
	if !strings.Contains(res.Header.Get("Location"), "changed=0") {
		t.Errorf("an unchanged edit: %s", res.Header.Get("Location"))
	}
}
