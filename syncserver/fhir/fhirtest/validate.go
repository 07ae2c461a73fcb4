// Package fhirtest checks, in tests, that JSON is a valid FHIR R4 resource:
// it validates against HL7's R4 JSON schema (syncserver/fhir/testdata,
// see the README there) with a JSON Schema validator. Only tests import it.
package fhirtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaURL names the schema inside the compiler; nothing is fetched.
const schemaURL = "https://doorstep-health.org/fhir/test/fhir.schema.json"

// Validator holds the compiled R4 schema. Compiling it takes a moment:
// load it once per test and validate many resources with it.
type Validator struct {
	compiler *jsonschema.Compiler
	root     *jsonschema.Schema
}

// Load compiles the gzipped schema at path (relative to the test's package
// directory, like testdata/fhir.schema.json.gz), failing tb if it cannot.
func Load(tb testing.TB, path string) *Validator {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("FHIR schema: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("FHIR schema %s: %v", path, err)
	}
	doc, err := jsonschema.UnmarshalJSON(zr)
	if err != nil {
		tb.Fatalf("FHIR schema %s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		tb.Fatalf("FHIR schema %s: %v", path, err)
	}
	root, err := c.Compile(schemaURL)
	if err != nil {
		tb.Fatalf("FHIR schema %s: %v", path, err)
	}
	return &Validator{compiler: c, root: root}
}

// Validate returns nil when data is one valid FHIR R4 resource, and the
// schema's complaints otherwise. The whole schema's answer for a broken
// resource lists every resource type it is not; the error names the
// complaints against its own resourceType instead, when it has a known one.
func (v *Validator) Validate(data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	err = v.root.Validate(inst)
	if err == nil {
		return nil
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(data, &head) == nil && head.ResourceType != "" {
		if sub, cerr := v.compiler.Compile(schemaURL + "#/definitions/" + head.ResourceType); cerr == nil {
			if serr := sub.Validate(inst); serr != nil {
				return fmt.Errorf("not a valid %s: %w", head.ResourceType, serr)
			}
		}
	}
	return err
}

// Check fails tb, naming what, when data is not a valid FHIR R4 resource.
func (v *Validator) Check(tb testing.TB, what string, data []byte) {
	tb.Helper()
	if err := v.Validate(data); err != nil {
		tb.Errorf("%s is not valid FHIR R4: %v\n%s", what, err, data)
	}
}
