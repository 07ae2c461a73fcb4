package surveyor

import (
	"sync"
	"testing"

	"github.com/doorstep-health/doorstep/schema"
)

// residentKeys runs on the form's concurrent handlers; the server
// matcher's name key it calls is not safe for concurrent use on names
// outside ASCII by itself (run with -race).
func TestResidentKeysConcurrent(t *testing.T) {
	r := schema.Resident{Name: "Lakṣmī Devī Śarmā", DOB: "1970", Phone: "+919812345678", AadhaarHash: "ab"}
	want := residentKeys(&r)
	if len(want) != 3 {
		t.Fatalf("keys = %q, want aadhaar, phone and name", want)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				got := residentKeys(&r)
				if len(got) != 3 || got[2] != want[2] {
					t.Errorf("keys = %q, want %q", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
