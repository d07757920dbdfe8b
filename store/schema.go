package store

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// CheckSchema compares have, the last hookd migration a database recorded
// (0: none, or no hookd tables), with the last of migrations
// ("migrations/NNNN_name.sql"), for readers that must not migrate.
func CheckSchema(have int, migrations fs.FS) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	want := 0
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("bad migration name %s", name)
		}
		want = max(want, v)
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
