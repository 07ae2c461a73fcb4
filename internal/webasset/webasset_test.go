package webasset

import (
	"testing"
	"testing/fstest"
)

// The version follows the files' content and names, nothing else.
func TestVersion(t *testing.T) {
	a := fstest.MapFS{"static/app.css": {Data: []byte("body{}")}, "static/app.js": {Data: []byte("1")}}
	b := fstest.MapFS{"static/app.css": {Data: []byte("body{}")}, "static/app.js": {Data: []byte("2")}}
	c := fstest.MapFS{"static/app.css": {Data: []byte("body{}")}, "static/app.js": {Data: []byte("1")}, "other/x": {Data: []byte("x")}}
	if Version(a, "static") == Version(b, "static") {
		t.Error("changed content, same version")
	}
	if Version(a, "static") != Version(c, "static") {
		t.Error("a file outside the folder changed the version")
	}
	if len(Version(a, "static")) != 12 {
		t.Errorf("version %q", Version(a, "static"))
	}
}
