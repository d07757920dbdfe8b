//go:build !unix

package main

import "testing"

func worldReadableDir(t *testing.T) string { return t.TempDir() }

func runAsNobody(t *testing.T, _, _ string) (int, string) {
	t.Skip("runs as another user on Unix only")
	return 0, ""
}
