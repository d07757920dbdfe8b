package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hookd/hookd/store"
)

// filePath is path without its query string (driver options).
func filePath(path string) string {
	file, _, _ := strings.Cut(path, "?")
	return file
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// openError says why path could not be opened in terms of what to fix:
// SQLite's own "unable to open database file" does not. A read-only open
// only reads, probes included; its missing file wraps fs.ErrNotExist.
func openError(path string, err error, readOnly bool) error {
	file, _ := filepath.Abs(filePath(path))
	dir := filepath.Dir(file)
	if readOnly {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite: %w", &fs.PathError{Op: "open", Path: file, Err: fs.ErrNotExist})
		}
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	st, derr := os.Stat(dir)
	switch {
	case errors.Is(derr, fs.ErrNotExist):
		return fmt.Errorf("sqlite: directory %s does not exist; create it or change database", dir)
	case errors.Is(derr, syscall.ENOTDIR) || derr == nil && !st.IsDir():
		return fmt.Errorf("sqlite: %s is not a directory; change database", dir)
	}
	if _, ferr := os.Stat(file); errors.Is(ferr, fs.ErrNotExist) {
		if f, err := os.CreateTemp(dir, ".hookd-probe-*"); err == nil {
			f.Close()
			os.Remove(f.Name())
		} else if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return fmt.Errorf("sqlite: cannot create %s: permission denied on %s; let the user running hookd write there, or change database", file, dir)
		}
	} else if f, werr := os.OpenFile(file, os.O_RDWR, 0); werr != nil {
		if errors.Is(werr, fs.ErrPermission) || errors.Is(werr, syscall.EROFS) {
			return fmt.Errorf("sqlite: cannot write %s: permission denied; let the user running hookd write it and its directory, or change database", file)
		}
	} else {
		f.Close()
	}
	return fmt.Errorf("sqlite: open %s: %w", path, err)
}

// CheckSchema reports whether the file holds hookd's current schema, for
// readers that must not migrate it.
func (db *DB) CheckSchema(ctx context.Context) error {
	var tables, version int
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'hookd_migration'`).Scan(&tables)
	if err == nil && tables > 0 {
		err = db.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM hookd_migration`).Scan(&version)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return store.CheckSchema(version, migrations)
}
