// Package dbmigrate reads a folder of numbered SQL migrations, the one
// convention the SQLite and the PostgreSQL stores share: NNNN_name.sql,
// applied in order of NNNN, each once.
package dbmigrate

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Step is one migration file.
type Step struct {
	Version int
	Name    string // the file name
}

// Steps lists the migrations of dir in the order to apply them.
func Steps(dir fs.FS) ([]Step, error) {
	names, err := fs.Glob(dir, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	steps := make([]Step, 0, len(names))
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migrate: %s: name must start with a number and _", n)
		}
		steps = append(steps, Step{v, n})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Version < steps[j].Version })
	return steps, nil
}
