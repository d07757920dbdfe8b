package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/storetest"
)

// A read-only open reads a file a writer made, whether or not the writer
// still has it open, writes nothing, and never creates a missing file.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "hookd.db")

	_, err := Open(path, Options{ReadOnly: true})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path+": file does not exist") {
		t.Fatalf("read-only open of a missing file: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a read-only open left %v behind", entries)
	}

	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.migrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// A row as version 1 wrote it.
	ev := storetest.Submission("svc", "k1", `{}`, 0).Event
	if _, err := w.db.ExecContext(ctx, `INSERT INTO hookd_event
		(id, service, idempotency_key, payload_hash, body, header, received_at, expires_at)
		VALUES (?, ?, ?, ?, ?, '{}', ?, ?)`, ev.ID, ev.Service, ev.IdempotencyKey, ev.PayloadHash, ev.Body,
		ev.ReceivedAt.UnixMicro(), ev.ExpiresAt.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	// A reader refuses a file of an older schema (hookd's read-only
	// commands check it first): it cannot read what that schema lacks.
	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "older schema (version 1, this hookd needs ") {
		t.Errorf("CheckSchema of a version-1 file: %v", err)
	}
	r.Close()
	if err := w.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, writerOpen := range []bool{true, false} {
		r, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		events, _, err := r.Events(ctx, hookd.EventFilter{})
		if err != nil || len(events) != 1 {
			t.Fatalf("writer open %v: Events = %d, %v", writerOpen, len(events), err)
		}
		if err := r.CheckSchema(ctx); err != nil {
			t.Errorf("CheckSchema of a migrated file: %v", err)
		}
		if _, err := r.Accept(ctx, []hookd.Submission{storetest.Submission("svc", "k2", `{}`, 0)}); err == nil {
			t.Error("a read-only database accepted a write")
		}
		r.Close()
		if entries, _ := os.ReadDir(dir); !writerOpen && len(entries) != 1 {
			t.Errorf("after a read of a closed file, the directory has %v", entries)
		}
		if writerOpen {
			w.Close()
		}
	}
}

func TestCheckSchemaOfAnEmptyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hookd.db")
	os.WriteFile(path, nil, 0o600)
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckSchema(context.Background()); err == nil || !strings.Contains(err.Error(), "no hookd tables") {
		t.Fatalf("CheckSchema = %v", err)
	}
}

// Open errors say what to fix. A permission problem cannot be made for a
// test running as root; that case skips.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	os.WriteFile(regular, nil, 0o600)
	locked := filepath.Join(dir, "locked")
	os.Mkdir(locked, 0o500)
	for _, c := range []struct {
		path, want string
		root       bool // runs as root too
	}{
		{filepath.Join(dir, "missing", "hookd.db"), "directory " + filepath.Join(dir, "missing") + " does not exist; create it or change database", true},
		{filepath.Join(regular, "hookd.db"), regular + " is not a directory", true},
		{filepath.Join(locked, "hookd.db"), "cannot create " + filepath.Join(locked, "hookd.db") + ": permission denied", false},
	} {
		if !c.root && os.Geteuid() == 0 {
			t.Logf("skipped as root: %s", c.want)
			continue
		}
		db, err := Open(c.path, Options{})
		if err == nil {
			db.Close()
			t.Errorf("Open(%s) succeeded", c.path)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s) = %v, want %q", c.path, err, c.want)
		}
	}
}
