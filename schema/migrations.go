package schema

import (
	"embed"
	"io/fs"
)

//go:embed migrations
var migrations embed.FS

// SurveyorMigrations are the numbered SQL migrations of the laptop's store.
func SurveyorMigrations() fs.FS { return mustSub("migrations/surveyor") }

// ServerMigrations are the numbered SQL migrations of the server's SQLite store.
func ServerMigrations() fs.FS { return mustSub("migrations/server") }

// PostgresMigrations are the server's migrations for a PostgreSQL store:
// the same schema in PostgreSQL's types.
func PostgresMigrations() fs.FS { return mustSub("migrations/postgres") }

func mustSub(dir string) fs.FS {
	f, err := fs.Sub(migrations, dir)
	if err != nil {
		panic(err) // the directory is embedded at build time; absent means a broken build
	}
	return f
}
