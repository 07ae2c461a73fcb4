package fhir

// CapabilitiesDate is when the CapabilityStatement last changed: change
// it with the statement.
const CapabilitiesDate = "2026-11-27"

// CapabilityStatement says what the server does: read and search Patients
// by identifier, in JSON.
type CapabilityStatement struct {
	ResourceType   string           `json:"resourceType"` // always "CapabilityStatement"
	Status         string           `json:"status"`
	Date           string           `json:"date"`
	Publisher      string           `json:"publisher,omitempty"`
	Kind           string           `json:"kind"`
	Software       *Software        `json:"software,omitempty"`
	Implementation *Implementation  `json:"implementation,omitempty"`
	FHIRVersion    string           `json:"fhirVersion"`
	Format         []string         `json:"format"`
	Rest           []CapabilityRest `json:"rest"`
}

// Software names the program behind the endpoint.
type Software struct {
	Name string `json:"name"`
}

// Implementation is this installation.
type Implementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

// CapabilityRest is the server's RESTful interface.
type CapabilityRest struct {
	Mode          string               `json:"mode"`
	Documentation string               `json:"documentation,omitempty"`
	Security      *RestSecurity        `json:"security,omitempty"`
	Resource      []CapabilityResource `json:"resource"`
}

// RestSecurity says how clients authenticate.
type RestSecurity struct {
	CORS        bool   `json:"cors"`
	Description string `json:"description,omitempty"`
}

// CapabilityResource is what the server does with one resource type.
type CapabilityResource struct {
	Type        string        `json:"type"`
	Profile     string        `json:"profile,omitempty"`
	Interaction []Interaction `json:"interaction"`
	SearchParam []SearchParam `json:"searchParam,omitempty"`
}

// Interaction is one RESTful operation on a resource type.
type Interaction struct {
	Code          string `json:"code"`
	Documentation string `json:"documentation,omitempty"`
}

// SearchParam is a search parameter the server supports.
type SearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// Capabilities is the CapabilityStatement of the server whose FHIR base URL
// is base.
func Capabilities(base string) CapabilityStatement {
	return CapabilityStatement{
		ResourceType: "CapabilityStatement",
		Status:       "active",
		Date:         CapabilitiesDate,
		Publisher:    "Doorstep Health",
		Kind:         "instance",
		Software:     &Software{Name: "doorstep syncserver"},
		Implementation: &Implementation{
			Description: "Doorstep health registry: persons enrolled door to door, by health ID",
			URL:         base,
		},
		FHIRVersion: Version,
		Format:      []string{"json"},
		Rest: []CapabilityRest{{
			Mode: "server",
			Documentation: "Read-only access to the registry's persons as Patients. A merged health ID answers as an " +
				"inactive Patient linked (replaced-by) to the survivor.",
			Security: &RestSecurity{CORS: false,
				Description: "Every request but this CapabilityStatement needs Authorization: Bearer with a token of role " +
					"hospital (syncserver token create --role hospital); every read of a Patient is audited."},
			Resource: []CapabilityResource{{
				Type:    "Patient",
				Profile: "http://hl7.org/fhir/StructureDefinition/Patient",
				Interaction: []Interaction{
					{Code: "read", Documentation: "GET [base]/Patient/[health ID], with or without dashes"},
					{Code: "search-type", Documentation: "GET [base]/Patient?identifier=" + HealthIDSystem + "|[health ID]"},
				},
				SearchParam: []SearchParam{{
					Name:       "identifier",
					Definition: "http://hl7.org/fhir/SearchParameter/Patient-identifier",
					Type:       "token",
					Documentation: "The health ID, as " + HealthIDSystem + "|[14 digits] (or the value alone). " +
						"Another system, or a value that is no health ID, matches nothing.",
				}},
			}},
		}},
	}
}
