package ui

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// defaultLang is the catalogue every other language falls back to.
const defaultLang = "en"

// The message catalogue: one JSON file per language, a flat object of
// key → text. Adding a language is adding a file; a key it lacks shows in
// English. Names of persons are never translated: the card prints them in
// Latin script.
//
//go:embed messages/*.json
var messageFS embed.FS

// catalogue holds each language's texts, already merged over English.
type catalogue struct {
	langs []language
	texts map[string]map[string]string
}

// language is one entry of the language switch.
type language struct {
	Code, Name string
}

func loadCatalogue() catalogue {
	files, err := fs.Glob(messageFS, "messages/*.json")
	if err != nil {
		panic(err)
	}
	raw := map[string]map[string]string{}
	for _, f := range files {
		b, err := messageFS.ReadFile(f)
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("ui: message catalogue %s: %v", f, err)) // fixed at build time; a test reads every file
		}
		raw[strings.TrimSuffix(path.Base(f), ".json")] = m
	}
	en := raw[defaultLang]
	c := catalogue{texts: map[string]map[string]string{}}
	for code, m := range raw {
		merged := make(map[string]string, len(en))
		for k, v := range en {
			merged[k] = v
		}
		for k, v := range m {
			merged[k] = v
		}
		c.texts[code] = merged
		c.langs = append(c.langs, language{Code: code, Name: merged["lang.name"]})
	}
	sort.Slice(c.langs, func(i, j int) bool {
		return c.langs[i].Code == defaultLang || c.langs[j].Code != defaultLang && c.langs[i].Code < c.langs[j].Code
	})
	return c
}

func (c catalogue) has(lang string) bool { _, ok := c.texts[lang]; return ok }

func (c catalogue) messages(lang string) map[string]string {
	if m, ok := c.texts[lang]; ok {
		return m
	}
	return c.texts[defaultLang]
}

// Languages lists the switch's entries, English first.
func (p *page) Languages() []language { return p.langs }

// pageNames are the templates in templates/, each defining "content".
var pageNames = []string{"list", "form", "error"}

// parsePages parses each page with the layout. User data only ever
// reaches a page through html/template's escaping: no function here
// returns template.HTML.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/member.html"))
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

var funcs = template.FuncMap{
	"inc":  func(i int) int { return i + 1 },
	"list": func(s ...string) []string { return s },
}
