package console_test

// These tests build the console as syncserver serves it, through httpapi
// and the CLI, which import this package: they live outside it.

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/doorstep-health/doorstep/syncserver/cli"
	httpapi "github.com/doorstep-health/doorstep/syncserver/http"
	"github.com/doorstep-health/doorstep/syncserver/store/storetest"
)

// Behind a proxy that ends TLS the console sees plain HTTP: the server's
// option marks its cookies Secure anyway, and only when set.
func TestConsoleSecureCookiesThroughTheServer(t *testing.T) {
	st := storetest.Open(t)
	for _, secure := range []bool{false, true} {
		ts := httptest.NewServer(httpapi.New(st, nil, httpapi.WithConsoleSecureCookies(secure)).Handler())
		res, err := http.Get(ts.URL + "/console/signin")
		ts.Close()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		cks := res.Cookies()
		if len(cks) == 0 {
			t.Fatalf("secure %v: the sign-in form set no cookie", secure)
		}
		for _, ck := range cks {
			if ck.Secure != secure {
				t.Errorf("WithConsoleSecureCookies(%v): cookie %s Secure %v", secure, ck.Name, ck.Secure)
			}
		}
	}
}

func TestServeSecureCookiesFlag(t *testing.T) {
	for env, want := range map[string]string{"": "false", "1": "true"} {
		app := &cli.App{Getenv: func(k string) string {
			if k == "SYNCSERVER_SECURE_COOKIES" {
				return env
			}
			return ""
		}}
		f := cli.NewCmdServe(app).Flags().Lookup("secure-cookies")
		if f == nil {
			t.Fatal("syncserver serve has no --secure-cookies")
		}
		if f.DefValue != want {
			t.Errorf("SYNCSERVER_SECURE_COOKIES=%q: --secure-cookies defaults to %s, want %s", env, f.DefValue, want)
		}
	}
}
