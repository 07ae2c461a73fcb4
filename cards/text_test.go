package cards

import (
	"errors"
	"testing"

	"github.com/doorstep-health/doorstep/schema"
)

func TestCheckPrintable(t *testing.T) {
	for _, s := range []string{
		"Ram Kumar", "Zoë Fernandes-D'Souza", "José Ñúñez", "O’Brien", // ASCII, Latin-1, curly quote
		"Œuvre – “quoted” • €5",
	} {
		if err := CheckPrintable("name", s); err != nil {
			t.Errorf("CheckPrintable(%q) = %v", s, err)
		}
	}
	for _, tc := range []struct{ field, in, want string }{
		{"name", "राम कुमार", `name: character "र" (U+0930) cannot be printed on the card; enter the name in Latin script`},
		{"name", "Ram शर्मा", `name: character "श" (U+0936) cannot be printed on the card; enter the name in Latin script`},
		{"cards[3].name", "Łukasz", `cards[3].name: character "Ł" (U+0141) cannot be printed on the card; enter the name in Latin script`},
		{"name", "Rāma", `name: character "ā" (U+0101) cannot be printed on the card; enter the name in Latin script`},
		{"name", "Ram\tKumar", `name: control character U+0009 cannot be printed on the card; enter the name in Latin script`},
		{"programme", "Health ✚", `programme: character "✚" (U+271A) cannot be printed on the card; use Latin letters, digits and common punctuation only`},
	} {
		err := CheckPrintable(tc.field, tc.in)
		var se *schema.Error
		if !errors.As(err, &se) || se.Code != schema.EINVALID || se.Rule != "printable" || se.Field != tc.field {
			t.Errorf("CheckPrintable(%q, %q) = %#v", tc.field, tc.in, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("CheckPrintable(%q) =\n %s\nwant\n %s", tc.in, err, tc.want)
		}
	}
}

func TestToCP1252(t *testing.T) {
	if got, want := toCP1252("Zoë “D’Souza” €"), "Zo\xeb \x93D\x92Souza\x94 \x80"; got != want {
		t.Errorf("toCP1252 = %q, want %q", got, want)
	}
}
