package store

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// CheckSchema compares have, the last hookd migration a database recorded
// (0: none, or no hookd tables), with the last of migrations
// ("migrations/NNNN_name.sql"), for readers that must not migrate.
func CheckSchema(have int, migrations fs.FS) error {
	all, err := Migrations(migrations)
	if err != nil {
		return err
	}
	want := 0
	if len(all) > 0 {
		want = all[len(all)-1].Version
	}
	const fix = "run hookd migrate (or hookd serve, which migrates)"
	switch {
	case have == 0:
		return fmt.Errorf("the database has no hookd tables: is it the right one? If so, %s", fix)
	case have < want:
		return fmt.Errorf("the database has an older schema (version %d, this hookd needs %d); %s", have, want, fix)
	}
	return nil
}

// Migration is one of a backend's schema migrations.
type Migration struct {
	Version int    // from the file name, NNNN_name.sql
	Name    string // the file's path in the FS
	SQL     string
}

// Migrations reads a backend's migrations ("migrations/NNNN_name.sql"),
// in version order.
func Migrations(migrations fs.FS) ([]Migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("bad migration name %s", name)
		}
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}
